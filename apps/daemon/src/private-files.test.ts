/** The data folder is private: 0700 folders and 0600 files, fresh or tightened from looser modes. */

import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runDaemon } from "./daemon";
import { isLoose } from "./private-files";
import { tempHome } from "./test-support";

setDefaultTimeout(30_000);

const env = { DISPATCH_WS_PORT: "0", DISPATCH_HTTP_PORT: "0" };
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** Every private path of a running daemon and the mode it must have. */
function expectPrivate(home: string): void {
  expect(modeOf(home)).toBe("700");
  expect(modeOf(join(home, "logs"))).toBe("700");
  for (const file of [
    "dispatch.db",
    "dispatch.db-wal",
    "dispatch.db-shm",
    "daemon.json",
    "logs/daemon.log",
  ]) {
    expect(existsSync(join(home, file))).toBe(true);
    expect([file, modeOf(join(home, file))]).toEqual([file, "600"]);
  }
}

test("pure: a mode is loose when group or others get any bit", () => {
  expect([0o700, 0o600, 0o400].map(isLoose)).toEqual([false, false, false]);
  expect([0o755, 0o644, 0o640, 0o601].map(isLoose)).toEqual([true, true, true, true]);
});

test("a fresh data folder is 0700 with 0600 database, WAL, shared memory, daemon.json and log", async () => {
  const home = join(await tempHome(), "fresh");
  const d = await runDaemon({ home, env, signals: false, stderr: null, out: () => {} });
  try {
    expectPrivate(home);
  } finally {
    await d.stop();
  }
});

test("an existing folder with loose modes is tightened, each change a warning in the log", async () => {
  const home = join(await tempHome(), "loose");
  mkdirSync(join(home, "logs"), { recursive: true });
  const db = new Database(join(home, "dispatch.db"));
  db.run("PRAGMA journal_mode=WAL");
  db.run("CREATE TABLE junk (x)");
  db.close();
  writeFileSync(join(home, "logs", "daemon.log"), "");
  writeFileSync(join(home, "logs", "daemon.log.1"), "");
  for (const p of [home, join(home, "logs")]) chmodSync(p, 0o755);
  for (const p of ["dispatch.db", "logs/daemon.log", "logs/daemon.log.1"]) chmodSync(join(home, p), 0o644);

  const d = await runDaemon({ home, env, signals: false, stderr: null, out: () => {} });
  try {
    expectPrivate(home);
    expect(modeOf(join(home, "logs", "daemon.log.1"))).toBe("600");
  } finally {
    await d.stop();
  }
  const warnings = readFileSync(join(home, "logs", "daemon.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { level: string; msg: string; path?: string; from?: string })
    .filter((r) => r.level === "warn" && r.msg.startsWith("tightened"));
  expect(warnings.map((w) => [w.path, w.from]).sort()).toEqual(
    [
      [home, "0755"],
      [join(home, "logs"), "0755"],
      [join(home, "dispatch.db"), "0644"],
      [join(home, "logs", "daemon.log"), "0644"],
      [join(home, "logs", "daemon.log.1"), "0644"],
    ].sort(),
  );
});
