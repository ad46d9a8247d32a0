import { connectToDaemon, type DaemonConnection } from "@dispatch/client";
import { findDaemon } from "@dispatch/discovery";
import { AutostartError, startDaemonInBackground } from "./autostart";
import { CliError, type CliIo, EXIT } from "./io";

/** Milliseconds a non-streaming call may take before the daemon counts as not responding. */
export function callTimeoutMs(env: Record<string, string | undefined>): number {
  const n = Number(env.DISPATCH_CLI_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 15_000;
}

/**
 * A fetch that gives up after `ms` unless the caller brings its own signal (the chat stream does: it
 * may stay quiet for long; its first response still has the same limit, see chat.ts).
 */
export function timedFetch(ms: number): typeof fetch {
  const timed = (input: string | URL | Request, init?: RequestInit) =>
    fetch(input, init?.signal ? init : { ...init, signal: AbortSignal.timeout(ms) });
  return Object.assign(timed, { preconnect: fetch.preconnect }) as typeof fetch;
}

/** The daemon of `home`; starts one in the background when none runs (its failure is shown whole). */
export async function ensureDaemon(home: string, io: CliIo, quiet: boolean): Promise<DaemonConnection> {
  if (!findDaemon(home)) {
    if (!quiet) io.stderr.write(`dispatch: no daemon running for ${home}; starting one in the background…\n`);
    const info = await startDaemonInBackground(home, io.env).catch((err: unknown) => {
      if (err instanceof AutostartError)
        throw new CliError(err.message, EXIT.unavailable, "CLI_AUTOSTART_FAILED");
      throw err;
    });
    if (!quiet)
      io.stderr.write(
        `dispatch: daemon ready (pid ${info.pid}, http :${info.httpPort}, ws :${info.wsPort})\n`,
      );
  }
  return connectToDaemon({ home, fetch: timedFetch(callTimeoutMs(io.env)) });
}
