/**
 * Test support: runs the real `dispatch` binary (`bun main.ts`) against a data folder, with pipes or on
 * a pseudo-terminal. Not part of the package API.
 */
import { afterAll, beforeAll } from "bun:test";
import { join } from "node:path";
import {
  cleanEnv,
  type RunningTestDaemon,
  reap,
  spawnOnTerminal,
  startDaemon,
  type TerminalProcess,
  tempHome,
} from "@dispatch/daemon/test-support";
import { findDaemon } from "@dispatch/discovery";
import { withTimeout } from "@dispatch/testkit";

export const MAIN = join(import.meta.dir, "main.ts");

/** The test daemon's clean environment, without a colour choice, pointed at `home` on free ports. */
export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const { NO_COLOR: _ignored, ...env } = cleanEnv();
  return { ...env, DISPATCH_HOME: home, DISPATCH_WS_PORT: "0", DISPATCH_HTTP_PORT: "0", ...extra };
}

/**
 * One daemon for the tests of a file: started before them, stopped after them together with any daemon
 * a CLI run started in the background in its folder (which happens only if the test daemon died).
 */
export function daemonForFile(): { readonly daemon: RunningTestDaemon; readonly home: string } {
  let daemon: RunningTestDaemon | undefined;
  beforeAll(async () => {
    daemon = await startDaemon(await tempHome());
  });
  afterAll(async () => {
    if (!daemon) return;
    await daemon.stop().catch(() => reap(daemon));
    const autostarted = findDaemon(daemon.home);
    if (autostarted) process.kill(autostarted.pid, "SIGTERM");
  });
  const started = () => {
    if (!daemon) throw new Error("the test daemon has not started");
    return daemon;
  };
  return {
    get daemon() {
      return started();
    },
    get home() {
      return started().home;
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dispatch …` with pipes (not a terminal) and waits for it to exit. */
export async function cli(
  home: string,
  args: string[],
  opts: {
    timeoutMs?: number;
    env?: Record<string, string>;
    /** The caller's folder (default this process's). */
    cwd?: string;
    /** Piped to stdin (a real pipe); absent = /dev/null. */
    stdin?: string;
    /** The command instead of `bun main.ts` (e.g. a compiled binary). */
    command?: string[];
  } = {},
): Promise<CliRun> {
  const proc = Bun.spawn([...(opts.command ?? ["bun", MAIN]), ...args], {
    env: cliEnv(home, opts.env),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdin: opts.stdin === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (opts.stdin !== undefined && proc.stdin) {
    proc.stdin.write(opts.stdin);
    await proc.stdin.end();
  }
  const [stdout, stderr, code] = await withTimeout(
    Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
    opts.timeoutMs ?? 20_000,
    `dispatch ${args.join(" ")} to finish`,
  ).catch((err) => {
    proc.kill("SIGKILL");
    throw err;
  });
  return { code, stdout, stderr };
}

/** `dispatch …` on a pseudo-terminal: stdin, stdout and stderr are all the terminal. */
export function ttyCli(home: string, args: string[], env: Record<string, string> = {}): TerminalProcess {
  return spawnOnTerminal(["bun", MAIN, ...args], cliEnv(home, env));
}

/** The last `{"type":"result"}` line of `chat --json` output. */
export function resultOf(stdout: string): {
  conversationId: string;
  text: string;
  reason?: string;
  usage?: unknown;
} {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines.at(-1) as string);
}
