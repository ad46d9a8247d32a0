import { existsSync } from "node:fs";
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool, ToolContext, ToolErrorCode, ToolResult } from "./contract";
import { defineTool } from "./define-tool";
import { failure, limit, withRoot } from "./file-tool";
import { OutputCapture } from "./output-capture";
import { groupIsRunning, signalGroup } from "./process-group";

export const RunShellLimits = z.object({
  defaultTimeoutMs: limit(120_000),
  /** The largest `timeoutMs` a call may ask for. */
  maxTimeoutMs: limit(600_000),
  /** Characters of combined stdout+stderr kept (head and tail) and streamed live. */
  maxOutputChars: limit(50_000),
  /** SIGTERM → SIGKILL delay when killing the process group. */
  killGraceMs: limit(2_000),
  /** The shell run as `<shell> -c <command>`; default bash when present, else /bin/sh. */
  shell: z.string().min(1).optional(),
});
export type RunShellLimits = z.infer<typeof RunShellLimits>;

export const RunShellParams = Type.Object(
  {
    command: Type.String({
      minLength: 1,
      description: "Shell command, run with `bash -c` in the working directory",
    }),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 1, description: "Kill the command after this many ms" }),
    ),
  },
  { additionalProperties: false },
);

const defaultShell = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) return false;
    await Bun.sleep(25);
  }
  return true;
}

interface Cancellable {
  cancel(): Promise<void>;
}

/** Reads `stream` to its end, decoding UTF-8 incrementally; returns when it closes or is cancelled. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  onData: (text: string) => void,
  readers: Cancellable[],
): Promise<void> {
  const reader = stream.getReader();
  readers.push(reader);
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text) onData(text);
    }
  } catch {
    // cancelled: the caller stopped reading
  }
  const rest = decoder.decode();
  if (rest) onData(rest);
}

export function runShellTool(limits: Partial<RunShellLimits> = {}): Tool {
  const lim = RunShellLimits.parse(limits);
  return defineTool({
    name: "run_shell",
    description:
      "Run a shell command in the working directory (non-interactive; stdin is empty). stdout and stderr are " +
      `streamed and returned combined, capped at ${lim.maxOutputChars} characters. Default timeout ` +
      `${lim.defaultTimeoutMs} ms (max ${lim.maxTimeoutMs}). The command's whole process group is killed on ` +
      "timeout or stop, and background processes it leaves are terminated when it exits.",
    parameters: RunShellParams,
    exclusive: true,
    permission: (args) => ({ kind: "shell", command: args.command }),
    execute: (args, ctx) => withRoot(ctx, () => runCommand(args.command, args.timeoutMs, lim, ctx)),
  });
}

async function runCommand(
  command: string,
  requestedTimeout: number | undefined,
  lim: RunShellLimits,
  ctx: ToolContext,
): Promise<ToolResult> {
  const timeoutMs = Math.min(requestedTimeout ?? lim.defaultTimeoutMs, lim.maxTimeoutMs);
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn([lim.shell ?? defaultShell, "-c", command], {
      cwd: ctx.cwd,
      env: { ...process.env, PWD: ctx.cwd },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      // Its own process group (and session), so the whole tree can be signalled as -pid.
      detached: true,
    });
  } catch (e) {
    return failure({ code: "TOOL_IO_ERROR", message: `run_shell could not start: ${(e as Error).message}` });
  }
  const pgid = proc.pid;
  const capture = new OutputCapture(lim.maxOutputChars);
  let capNoticeSent = false;
  const onData = (stream: "stdout" | "stderr") => (text: string) => {
    const live = capture.push(text);
    if (live) ctx.onOutput(live, stream);
    if (capture.capped && !capNoticeSent) {
      capNoticeSent = true;
      ctx.onOutput("\n[output cap reached; live output stopped]\n", stream);
    }
  };
  const readers: Cancellable[] = [];
  const pumps = Promise.all([
    pump(proc.stdout, onData("stdout"), readers),
    pump(proc.stderr, onData("stderr"), readers),
  ]);

  let ended: "timeout" | "abort" | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = (why: "timeout" | "abort") => {
    if (ended) return;
    ended = why;
    signalGroup(pgid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pgid, "SIGKILL"), lim.killGraceMs);
  };
  const timer = setTimeout(() => stop("timeout"), timeoutMs);
  const onAbort = () => stop("abort");
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();

  await proc.exited;
  clearTimeout(timer);
  ctx.signal.removeEventListener("abort", onAbort);
  // The leader is gone; whatever is left in its group (background jobs, a tree that ignored SIGTERM)
  // is terminated too, otherwise it would outlive the call and hold our pipes open.
  if (groupIsRunning(pgid)) {
    signalGroup(pgid, "SIGTERM");
    if (!(await until(() => !groupIsRunning(pgid), lim.killGraceMs))) signalGroup(pgid, "SIGKILL");
  }
  clearTimeout(killTimer);
  const drained = await Promise.race([pumps.then(() => true), Bun.sleep(lim.killGraceMs).then(() => false)]);
  if (!drained) await Promise.all(readers.map((r) => r.cancel().catch(() => {})));

  const out = capture.text();
  const lines = [out.length > 0 ? out.replace(/\n$/, "") : "(no output)"];
  if (!drained) lines.push("[stopped reading: a process outside the command's group kept its output open]");
  let code: ToolErrorCode | undefined;
  if (ended === "timeout") {
    code = "TOOL_TIMEOUT";
    lines.push(`[timed out after ${timeoutMs} ms; the process group was killed]`);
  } else if (ended === "abort") {
    code = "TOOL_ABORTED";
    lines.push("[aborted: the turn was stopped; the process group was killed]");
  } else if (proc.signalCode) {
    code = "TOOL_COMMAND_FAILED";
    lines.push(`[killed by ${proc.signalCode}]`);
  } else {
    if (proc.exitCode !== 0) code = "TOOL_COMMAND_FAILED";
    lines.push(`[exit code ${proc.exitCode}]`);
  }
  const content = lines.join("\n");
  return code ? { content, isError: true, code } : { content, isError: false };
}
