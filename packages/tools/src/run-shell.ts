import { existsSync } from "node:fs";
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool, ToolContext, ToolErrorCode, ToolResult } from "./contract";
import { defineTool } from "./define-tool";
import { failure, limit, withRoot } from "./file-tool";
import { OutputCapture } from "./output-capture";
import { killRun, signalGroup, terminateTree } from "./process-group";

/** The daemon's credentials (the same names the daemon scrubs from its logs). */
export const DEFAULT_SCRUBBED_ENV = [
  "DISPATCH_TOKEN",
  "DISPATCH_API_KEY",
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
];

/** Every process a command starts inherits `<MARKER_ENV>=<random id>`, so escapees can be found. */
export const MARKER_ENV = "DISPATCH_RUN_SHELL_ID";

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
  /**
   * Variables of the daemon's environment not passed to commands: the daemon's own credentials, so
   * a command cannot read its API token (and answer its own permission requests) or the model keys.
   */
  scrubEnv: z.array(z.string().min(1)).default(DEFAULT_SCRUBBED_ENV),
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

/** Pure: the environment of a command: the daemon's minus `scrub`, plus PWD and the marker. */
export function commandEnv(
  base: Record<string, string | undefined>,
  scrub: readonly string[],
  cwd: string,
  marker: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !scrub.includes(k)) env[k] = v;
  env.PWD = cwd;
  env[MARKER_ENV] = marker;
  return env;
}

/**
 * Boot recovery: kills what a run_shell call with run id `runId` (ToolContext.runId) left running when
 * the daemon died. Returns how many processes were found.
 */
export function killInterruptedRun(runId: string): number {
  return killRun(MARKER_ENV, runId);
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
      "timeout or stop, and background processes it leaves (even with setsid or nohup) are terminated when it " +
      "exits: start long-running servers outside this tool.",
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
  const markerValue = ctx.runId ?? crypto.randomUUID();
  const marker = `${MARKER_ENV}=${markerValue}`;
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn([lim.shell ?? defaultShell, "-c", command], {
      cwd: ctx.cwd,
      env: commandEnv(process.env, lim.scrubEnv, ctx.cwd, markerValue),
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
  // The leader is gone; whatever is left (background jobs, a tree that ignored SIGTERM, daemons
  // that moved to their own session) is terminated too, otherwise it would outlive the call and
  // hold our pipes open.
  const cleared = await terminateTree(pgid, marker, lim.killGraceMs);
  clearTimeout(killTimer);
  const drained = await Promise.race([pumps.then(() => true), Bun.sleep(lim.killGraceMs).then(() => false)]);
  if (!drained) await Promise.all(readers.map((r) => r.cancel().catch(() => {})));

  const out = capture.text();
  const lines = [out.length > 0 ? out.replace(/\n$/, "") : "(no output)"];
  if (!cleared) lines.push("[some processes the command started could not be killed]");
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
