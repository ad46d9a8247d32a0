import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import type { ToolResult } from "./contract";
import { isRunning, markedProcesses } from "./process-group";
import { commandEnv, killInterruptedRun, MARKER_ENV, RunShellLimits, runShellTool } from "./run-shell";
import { tempDir, toolContext, waitFor } from "./test-support";

const shell = runShellTool({ killGraceMs: 300 });

/** The first `n` lines of streamed output that are pids, once they arrive. */
async function streamedPids(ctx: ReturnType<typeof toolContext>, n = 1): Promise<number[]> {
  let pids: number[] = [];
  await waitFor(`the command to print ${n} background pid(s)`, () => {
    pids = [
      ...ctx.output
        .map((o) => o.data)
        .join("")
        .matchAll(/^(\d+)$/gm),
    ].map((m) => Number(m[1]));
    return pids.length >= n;
  });
  return pids.slice(0, n);
}

describe("run_shell", () => {
  test("streams stdout and stderr while the command runs, in the cwd", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    let settled = false;
    const run = shell
      .execute({ command: "pwd; echo first; while [ ! -f go ]; do sleep 0.02; done; echo second >&2" }, ctx)
      .finally(() => {
        settled = true;
      });
    await waitFor("'first' to be streamed", () => ctx.output.some((o) => o.data.includes("first")));
    expect(settled).toBe(false);
    await fs.writeFile(t.join("go"), "");
    const r = await run;
    expect(r).toEqual({ content: `${t.path}\nfirst\nsecond\n[exit code 0]`, isError: false });
    expect(ctx.output.filter((o) => o.stream === "stderr").map((o) => o.data)).toEqual(["second\n"]);
  });

  test("a non-zero exit is an error result with the exit code", async () => {
    await using t = await tempDir();
    const r = await shell.execute({ command: "echo oops >&2; exit 3" }, toolContext(t.path));
    expect(r).toEqual({ content: "oops\n[exit code 3]", isError: true, code: "TOOL_COMMAND_FAILED" });
  });

  test("a timeout kills the whole process group, grandchildren included", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    const run = shell.execute(
      { command: "sh -c 'sleep 300 & echo $!; wait'; echo unreachable", timeoutMs: 1500 },
      ctx,
    );
    const [grandchild = 0] = await streamedPids(ctx);
    const r = await run;
    expect(r.code).toBe("TOOL_TIMEOUT");
    expect(r.content).not.toContain("unreachable");
    await waitFor(`grandchild sleep ${grandchild} to be gone`, () => !isRunning(grandchild));
  });

  test("abort kills the tree, escalating to SIGKILL when SIGTERM is ignored, setsid escapees too", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    const run = shell.execute(
      {
        command:
          "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!; " +
          `sh -c 'trap "" TERM; sleep 300 & echo $!; wait'`,
      },
      ctx,
    );
    const pids = await streamedPids(ctx, 2);
    ctx.controller.abort();
    const r: ToolResult = await run;
    expect(r.code).toBe("TOOL_ABORTED");
    expect(r.isError).toBe(true);
    for (const pid of pids) await waitFor(`sleep ${pid} to be gone`, () => !isRunning(pid));
  });

  test("background processes left behind are terminated when the command exits", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    const r = await shell.execute(
      { command: "sleep 300 & echo $!; nohup sleep 300 >/dev/null 2>&1 & echo $!" },
      ctx,
    );
    expect(r.isError).toBe(false);
    const pids = r.content.split("\n").slice(0, 2).map(Number);
    expect(pids.every((pid) => pid > 0)).toBe(true);
    for (const pid of pids) await waitFor(`background sleep ${pid} to be gone`, () => !isRunning(pid));
  });

  test("a daemon that escapes the group (setsid, ignoring SIGTERM) is found by its marker and killed", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    // The escapee makes itself a session (and group) leader, ignores SIGTERM, and closes our pipes.
    const command =
      `setsid sh -c 'trap "" TERM; echo $$ > esc.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & ` +
      "while [ ! -s esc.pid ]; do sleep 0.02; done; p=$(cat esc.pid); " +
      'echo "leader $$ escapee $p session $(cut -d" " -f6 /proc/$p/stat)"';
    const r = await shell.execute({ command }, ctx);
    expect(r.isError).toBe(false);
    const m = /leader (\d+) escapee (\d+) session (\d+)/.exec(r.content);
    if (!m) throw new Error(`unexpected output: ${r.content}`);
    const [, leader, escapee, session] = m.map(Number) as [number, number, number, number];
    // It really left the command's process group: kill(-pgid) alone would have missed it.
    expect(session).toBe(escapee);
    expect(session).not.toBe(leader);
    await waitFor(`escaped daemon ${escapee} to be gone`, () => !isRunning(escapee));
  });

  test("a tree that keeps forking escapees (setsid -f, trap '', double forks) while it is cleaned up leaves nothing", async () => {
    await using t = await tempDir();
    const runId = crypto.randomUUID();
    const ctx = { ...toolContext(t.path), runId };
    // A forker that ignores SIGTERM spawns new sessions every few ms, each of which double-forks a
    // sleeper that ignores SIGTERM too; the command itself ends while the forker is still at it.
    const command =
      `(trap '' TERM; while :; do setsid -f sh -c "trap '' TERM; (sleep 300 &) ; sleep 300"; sleep 0.005; done) ` +
      "</dev/null >/dev/null 2>&1 & sleep 0.3";
    const r = await shell.execute({ command }, ctx);
    expect(r.content).not.toContain("could not be killed");
    expect(markedProcesses(`${MARKER_ENV}=${runId}`)).toEqual([]);
    // And the run id, recorded before the call, finds nothing left for boot recovery either.
    expect(killInterruptedRun(runId)).toBe(0);
  });

  test("boot recovery kills what a run left running, found by its run id", async () => {
    await using t = await tempDir();
    const runId = crypto.randomUUID();
    const child = Bun.spawn(["sh", "-c", "trap '' TERM; setsid sh -c 'sleep 300' & sleep 300"], {
      env: { ...process.env, [MARKER_ENV]: runId },
      cwd: t.path,
      stdio: ["ignore", "ignore", "ignore"],
    });
    await waitFor("the run's two sleepers", () => markedProcesses(`${MARKER_ENV}=${runId}`).length >= 3);
    expect(killInterruptedRun(runId)).toBeGreaterThanOrEqual(3);
    expect(markedProcesses(`${MARKER_ENV}=${runId}`)).toEqual([]);
    await child.exited;
  });

  test("the daemon's credentials are not in the command's environment", async () => {
    await using t = await tempDir();
    const name = "DISPATCH_TOOLS_TEST_SECRET";
    process.env[name] = "s3cret-value";
    try {
      const r = await runShellTool({ scrubEnv: [name] }).execute(
        { command: `echo "[$${name}]"; echo "$${MARKER_ENV}"` },
        toolContext(t.path),
      );
      expect(r.content).toMatch(/^\[\]\n[0-9a-f-]{36}\n\[exit code 0\]$/);
    } finally {
      delete process.env[name];
    }
    const defaults = RunShellLimits.parse({}).scrubEnv;
    expect(
      commandEnv({ DISPATCH_TOKEN: "tok", OPENAI_API_KEY: "k", HOME: "/h" }, defaults, "/c", "id"),
    ).toEqual({
      HOME: "/h",
      PWD: "/c",
      [MARKER_ENV]: "id",
    });
  });

  test("output past the cap is cut in the middle with a notice; live output stops at the cap", async () => {
    await using t = await tempDir();
    const capped = runShellTool({ maxOutputChars: 1000 });
    const ctx = toolContext(t.path);
    const r = await capped.execute({ command: "for i in $(seq 1 2000); do echo line$i; done" }, ctx);
    expect(r.isError).toBe(false);
    expect(r.content.startsWith("line1\nline2\n")).toBe(true);
    expect(r.content).toMatch(/\[… \d+ characters of output omitted …\]/);
    expect(r.content).toContain("line2000\n[exit code 0]");
    const streamed = ctx.output.map((o) => o.data).join("");
    expect(streamed).toContain("[output cap reached; live output stopped]");
    expect(streamed).not.toContain("line2000");
  });

  test("a missing cwd or an already stopped turn never spawns", async () => {
    await using t = await tempDir();
    const missing = await shell.execute({ command: "touch x" }, toolContext(t.join("missing")));
    expect(missing.code).toBe("TOOL_CWD_INVALID");
    const ctx = toolContext(t.path);
    ctx.controller.abort();
    const stopped = await shell.execute({ command: "touch x" }, ctx);
    expect(stopped.code).toBe("TOOL_ABORTED");
    expect(await fs.readdir(t.path)).toEqual([]);
  });

  test("invalid arguments name the field", () => {
    expect(shell.validate({ command: 5 })).toEqual({
      ok: false,
      message: "run_shell: /command must be string",
    });
    expect(shell.validate({ command: "" })).toEqual({
      ok: false,
      message: "run_shell: /command must be at least 1 character(s) long",
    });
    expect(shell.permission({ command: "ls" }, "/x")).toEqual({ kind: "shell", command: "ls" });
  });
});
