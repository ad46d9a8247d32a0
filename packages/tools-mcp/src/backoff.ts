/** Restart policy of crashed MCP servers (pure). */

/** Consecutive failed starts after which a server is left `failed` until restarted by hand. */
export const MAX_ATTEMPTS = 6;

/** Pure: the delay before restart attempt `attempt` (1-based): 500 ms doubling, at most 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
}

/** A server that stayed up this long before crashing starts again from the first delay. */
export const STABLE_MS = 30_000;
