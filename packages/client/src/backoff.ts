/** Reconnect delays: exponential with "equal jitter", so a crowd of clients does not reconnect in lockstep. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 10_000 };

/**
 * Pure: the delay before reconnect attempt `attempt` (0-based). Half of the capped exponential delay is
 * fixed and half is random, so the delay never collapses to zero but still spreads clients out.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: number): number {
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(capped / 2 + (capped / 2) * Math.min(Math.max(random, 0), 1));
}
