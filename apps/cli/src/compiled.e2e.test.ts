/**
 * The single-file binary (`bun run build:binary`), built here and exercised as a user would: it
 * auto-starts a daemon by running itself with `serve`, chats, and runs the grep tool, whose worker is
 * bundled inside it.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempHome } from "@dispatch/daemon/test-support";
import { findDaemon } from "@dispatch/discovery";
import { cli, resultOf } from "./cli.test-support";

setDefaultTimeout(60_000);

const ROOT = join(import.meta.dir, "../../..");
let binary = "";
let home = "";

beforeAll(async () => {
  const out = await tempHome();
  binary = join(out, "dispatch");
  const build = Bun.spawnSync(["bun", join(ROOT, "scripts/build-binary.ts"), binary], { stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build:binary failed: ${build.stderr.toString()}`);
  home = await tempHome();
});

afterAll(() => {
  const info = home ? findDaemon(home) : undefined;
  if (info) process.kill(info.pid, "SIGTERM");
});

test("the binary auto-starts its own daemon, chats, and runs grep in the caller's folder", async () => {
  const folder = await tempHome();
  await Bun.write(join(folder, "notes.txt"), "a needle in the haystack\n");
  const run = await cli(home, ["local/echo", "--json", "-t", '/tool grep {"pattern":"needle"}'], {
    command: [binary],
    cwd: folder,
    timeoutMs: 40_000,
  });
  expect(run.stderr).toBe(""); // --json: no progress notes, only a JSON error would go there
  expect(run.code).toBe(0);
  const result = resultOf(run.stdout);
  expect(result.text).toContain("The tool grep returned: notes.txt:1: a needle in the haystack");
  // The daemon is the binary itself running `serve`, not `bun … serve`.
  const info = findDaemon(home);
  expect(info).toBeDefined();
  const argv = readFileSync(`/proc/${info?.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  expect(argv).toEqual([binary, "serve"]);
  const version = await cli(home, ["-v"], { command: [binary] });
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const stop = await cli(home, ["stop-daemon"], { command: [binary] });
  expect(stop.code).toBe(0);
  expect(findDaemon(home)).toBeUndefined();
});
