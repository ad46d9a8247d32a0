/** What every command writes to and reads from, its exit codes and its expected failures. */

export interface CliIo {
  stdout: { write(s: string): void; isTTY?: boolean };
  stderr: { write(s: string): void; isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
}

/**
 * Exit codes: 0 ok, 1 failed (daemon error, turn error), 2 usage, 3 no daemon / cannot reach it, 130
 * interrupted (Ctrl-C at a permission prompt).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, interrupted: 130 } as const;

/** An expected failure: its message is shown as is, and the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Pure: colours only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

const CONNECTION_ERRORS = new Set(["ConnectionRefused", "ECONNREFUSED", "ECONNRESET", "ConnectionClosed"]);

/** Pure: the daemon went away or cannot be reached (fetch's error codes in Bun and Node). */
export function isConnectionError(e: unknown): e is Error & { code: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONNECTION_ERRORS.has(code);
}
