/** What every command writes to and reads from, its exit codes and its expected failures. */

export interface CliIo {
  stdout: { write(s: string): void; isTTY?: boolean };
  stderr: { write(s: string): void; isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
  /** The caller's folder (default `process.cwd()`): a chat's tools work there unless `--cwd` says otherwise. */
  cwd?: string;
  /** All of stdin (piped input); default reads `process.stdin`. Only called when stdin is not a terminal. */
  readStdin?: () => Promise<string>;
}

/**
 * Exit codes: 0 ok, 1 failed (daemon error, turn error, unknown id), 2 usage, 3 no daemon / cannot
 * reach it / not responding, 130 interrupted (Ctrl-C).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, interrupted: 130 } as const;

/** An expected failure: its message is shown as is, and the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code = exitCode === EXIT.usage
      ? "CLI_USAGE"
      : exitCode === EXIT.unavailable
        ? "CLI_UNAVAILABLE"
        : "CLI_FAILED",
  ) {
    super(message);
    this.name = "CliError";
  }
}

const CONNECTION_ERRORS = new Set(["ConnectionRefused", "ECONNREFUSED", "ECONNRESET", "ConnectionClosed"]);

/** Pure: the daemon went away or cannot be reached (fetch's error codes in Bun and Node). */
export function isConnectionError(e: unknown): e is Error & { code: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONNECTION_ERRORS.has(code);
}

/** Pure: a call timed out (AbortSignal.timeout's reason). */
export function isTimeout(e: unknown): boolean {
  return (e as { name?: unknown } | null)?.name === "TimeoutError";
}

/**
 * All of stdin. With `firstByteMs`, a stdin that stays silent that long counts as empty: a parent that
 * leaves an idle pipe open (Node's spawn does by default) must not hang a command that has its prompt.
 */
export async function readAllStdin(io: CliIo, firstByteMs?: number): Promise<string> {
  if (io.readStdin) return io.readStdin();
  const reader = Bun.stdin.stream().getReader();
  const chunks: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<"silent">((resolve) => {
    if (firstByteMs !== undefined) timer = setTimeout(() => resolve("silent"), firstByteMs);
  });
  try {
    const first = await Promise.race([reader.read(), silent]);
    clearTimeout(timer);
    if (first === "silent") {
      await reader.cancel().catch(() => {});
      return "";
    }
    for (let r = first; !r.done; r = await reader.read()) chunks.push(r.value);
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString("utf8");
}
