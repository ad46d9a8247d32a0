/**
 * Per-connection inbound rate limit — pure: a token bucket plus a strike count.
 *
 * Each frame takes one token; the bucket holds `burst` and refills at `perSecond`. A frame that finds
 * the bucket empty is dropped: the first one is answered with an `error` ("warn"), the next ones are
 * dropped silently, and the `maxStrikes`-th over-limit frame closes the connection with 1008. Strikes
 * are forgiven once the bucket has refilled completely (the client calmed down), so a short burst is
 * warned about but a sustained flood — even one that lets a token through now and then — is closed.
 */

export interface RateLimitConfig {
  /** Frames accepted back to back. */
  burst: number;
  /** Sustained frames per second. */
  perSecond: number;
  /** Over-limit frames tolerated (warned, dropped) before the connection is closed. */
  maxStrikes: number;
}

export interface RateState {
  tokens: number;
  /** Clock reading (ms) of the last update. */
  at: number;
  strikes: number;
}

/** allow: handle the frame · warn: drop it and answer `error` · drop: drop it · close: close 1008. */
export type RateVerdict = "allow" | "warn" | "drop" | "close";

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { burst: 200, perSecond: 100, maxStrikes: 100 };

/** Pure: the state of a new connection (a full bucket). */
export function initialRateState(cfg: RateLimitConfig, now: number): RateState {
  return { tokens: cfg.burst, at: now, strikes: 0 };
}

/** Pure: charges one frame at time `now` (ms). */
export function chargeFrame(
  cfg: RateLimitConfig,
  state: RateState,
  now: number,
): { verdict: RateVerdict; state: RateState } {
  const elapsed = Math.max(0, now - state.at);
  const tokens = Math.min(cfg.burst, state.tokens + (elapsed / 1000) * cfg.perSecond);
  const strikes = tokens >= cfg.burst ? 0 : state.strikes;
  if (tokens >= 1) return { verdict: "allow", state: { tokens: tokens - 1, at: now, strikes } };
  const next = { tokens, at: now, strikes: strikes + 1 };
  if (next.strikes >= cfg.maxStrikes) return { verdict: "close", state: next };
  return { verdict: next.strikes === 1 ? "warn" : "drop", state: next };
}
