import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import type { ToolResult } from "./contract";
import { isRunning } from "./process-group";
import { runShellTool } from "./run-shell";
import { tempDir, toolContext, waitFor } from "./test-support";

const shell = runShellTool({ killGraceMs: 300 });

/** The first line of streamed output that is a pid, once it arrives. */
async function streamedPid(ctx: ReturnType<typeof toolContext>): Promise<number> {
  let pid = 0;
  await waitFor("the command to print its background pid", () => {
    const m = /^(\d+)$/m.exec(ctx.output.map((o) => o.data).join(""));
    if (m) pid = Number(m[1]);
    return pid > 0;
  });
  return pid;
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
    const grandchild = await streamedPid(ctx);
    const r = await run;
    expect(r.code).toBe("TOOL_TIMEOUT");
    expect(r.content).not.toContain("unreachable");
    await waitFor(`grandchild sleep ${grandchild} to be gone`, () => !isRunning(grandchild));
  });

  test("abort kills the tree, escalating to SIGKILL when SIGTERM is ignored", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    const run = shell.execute({ command: `sh -c 'trap "" TERM; sleep 300 & echo $!; wait'` }, ctx);
    const grandchild = await streamedPid(ctx);
    ctx.controller.abort();
    const r: ToolResult = await run;
    expect(r.code).toBe("TOOL_ABORTED");
    expect(r.isError).toBe(true);
    await waitFor(`grandchild sleep ${grandchild} to be gone`, () => !isRunning(grandchild));
  });

  test("background processes left behind are terminated when the command exits", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    const r = await shell.execute({ command: "sleep 300 & echo $!" }, ctx);
    expect(r.isError).toBe(false);
    const pid = Number(r.content.split("\n")[0]);
    expect(pid).toBeGreaterThan(0);
    await waitFor(`background sleep ${pid} to be gone`, () => !isRunning(pid));
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
