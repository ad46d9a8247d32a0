/** `dispatch watch` against a real daemon: every conversation's activity, running and new ones. */
import { expect, setDefaultTimeout, test } from "bun:test";
import { withTimeout } from "@dispatch/testkit";
import { cliEnv, daemonForFile, MAIN, cli as runCli } from "./cli.test-support";

setDefaultTimeout(40_000);
const file = daemonForFile();

test("watch replays a running turn, follows a conversation started later, and ends on Ctrl-C", async () => {
  const first = await runCli(file.home, ["--detach", "/slow 20\n/long 40\nwatched from the start"], {
    env: { NO_COLOR: "1" },
  });
  expect(first.code).toBe(0);
  const proc = Bun.spawn(["bun", MAIN, "watch"], {
    env: cliEnv(file.home, { NO_COLOR: "1" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const until = async (pred: () => boolean, what: string) =>
    withTimeout(
      (async () => {
        while (!pred()) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`watch ended before ${what}: ${out}`);
          out += decoder.decode(value, { stream: true });
        }
      })(),
      20_000,
      what,
    );
  try {
    await until(
      () => out.includes(" user ") && out.includes("watched from the start"),
      "the replayed prompt",
    );
    const later = await runCli(file.home, ["--json", "--detach", "a later one"], { env: { NO_COLOR: "1" } });
    const id = (JSON.parse(later.stdout.trim()) as { conversationId: string }).conversationId;
    await until(() => out.includes(`${id.slice(0, 8)}  turn-sealed`), "the later conversation's turn-sealed");
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
  } finally {
    proc.kill("SIGKILL");
  }
  const lines = out.trim().split("\n");
  // One line per event kind: each line is <time>  <id8>  <kind> …
  expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\S+Z {2}\S{8} {2}\S+/.test(l))).toBe(true);
  expect(lines.some((l) => / text {8}\d+ chars /.test(l))).toBe(true);
});
