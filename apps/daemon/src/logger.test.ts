import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDaemonLogger, formatHuman, redact } from "./logger";

const SECRET = "s3cr3t-token-value-abcdefghijkl";

test("redact keeps numbers under secret-looking names (token counts) and hides strings", () => {
  expect(redact({ inputTokens: 12, outputTokens: 0, apiToken: "abc" }, [])).toEqual({
    inputTokens: 12,
    outputTokens: 0,
    apiToken: "[redacted]",
  });
});

test("redact hides secret-named keys and known secrets anywhere", () => {
  expect(
    redact({ token: "x", nested: { apiKey: "k", note: `has ${SECRET} inside` }, list: [SECRET], n: 1 }, [
      SECRET,
    ]),
  ).toEqual({
    token: "[redacted]",
    nested: { apiKey: "[redacted]", note: "has [redacted] inside" },
    list: ["[redacted]"],
    n: 1,
  });
});

test("errors become plain objects with code", () => {
  const e = Object.assign(new Error("boom"), { code: "X_FAILED" });
  expect(redact({ err: e }, [])).toMatchObject({ err: { name: "Error", message: "boom", code: "X_FAILED" } });
});

test("formatHuman: concise without a TTY, coloured with one", () => {
  const t = new Date("2024-01-01T10:00:00Z");
  expect(formatHuman("info", "listening", { ext: "transport-http", port: 1 }, false, t)).toBe(
    "info transport-http: listening port=1\n",
  );
  expect(formatHuman("warn", "x", {}, true, t)).toContain("\x1b[33mWARN");
});

test("file gets JSON lines at or above the level, children carry bindings, secrets never written", async () => {
  const dir = await mkdtemp(join(tmpdir(), "dispatch-log-"));
  const file = join(dir, "logs", "daemon.log");
  const lines: string[] = [];
  const log = createDaemonLogger({
    level: "info",
    file,
    maxBytes: 1 << 20,
    keep: 2,
    stderr: { isTTY: false, write: (s) => lines.push(s) },
  });
  log.addSecret(SECRET);
  log.debug("hidden");
  log.child({ ext: "x" }).info(`token is ${SECRET}`, { authorization: `Bearer ${SECRET}` });
  log.close();
  const records = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({
    level: "info",
    msg: "token is [redacted]",
    ext: "x",
    authorization: "[redacted]",
  });
  expect(readFileSync(file, "utf8")).not.toContain(SECRET);
  expect(lines.join("")).not.toContain(SECRET);
  expect(lines).toHaveLength(1);
});

test("rotates by size and keeps a bounded number of files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "dispatch-log-"));
  const file = join(dir, "daemon.log");
  const log = createDaemonLogger({ level: "debug", file, maxBytes: 300, keep: 2 });
  for (let i = 0; i < 40; i++) log.info(`line ${i} ${"x".repeat(40)}`);
  log.close();
  expect(existsSync(`${file}.1`)).toBe(true);
  expect(existsSync(`${file}.2`)).toBe(true);
  expect(existsSync(`${file}.3`)).toBe(false);
  for (const f of [file, `${file}.1`, `${file}.2`]) expect(readFileSync(f).length).toBeLessThanOrEqual(300);
  expect(readFileSync(file, "utf8")).toContain("line 39");
});
