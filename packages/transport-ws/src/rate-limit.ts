/**
 * Per-connection inbound rate limit — pure: a token bucket plus a strike count.
 *
 * Each frame takes one token; the bucket holds `burst` and refills at `perSecond`. A frame that finds
 * the bucket empty is dropped: the first one is answered with an `error` ("warn"), the next ones are
 * dropped silently, and the `maxStrikes`-th over-limit frame closes the connection with 1008. Strikes
 * are forgiven once the bucket has refilled completely (the client calmed down), so a short burst is
 * warned about but a sustained flood — even one that lets a token through now and then — is closed.
 *
 * Bytes are charged too (a second bucket, when configured): a stream of 15 MiB frames would otherwise
 * keep the event loop busy parsing JSON at a frame rate the count alone allows. The shell charges a
 * frame before it parses it, so a dropped frame costs no parse.
 */

export interface RateLimitConfig {
  /** Frames accepted back to back. */
  burst: number;
  /** Sustained frames per second. */
  perSecond: number;
  /** Over-limit frames tolerated (warned, dropped) before the connection is closed. */
  maxStrikes: number;
  /** Bytes accepted back to back (absent: bytes are not limited). At least the largest frame allowed. */
  bytesBurst?: number;
  /** Sustained bytes per second. */
  bytesPerSecond?: number;
}

export interface RateState {
  tokens: number;
  /** Bytes left in the byte bucket. */
  bytes: number;
  /** Clock reading (ms) of the last update. */
  at: number;
  strikes: number;
}

/** allow: handle the frame · warn: drop it and answer `error` · drop: drop it · close: close 1008. */
export type RateVerdict = "allow" | "warn" | "drop" | "close";

export const DEFAULT_RATE_LIMIT = {
  burst: 200,
  perSecond: 100,
  maxStrikes: 100,
  bytesBurst: 64 * 1024 * 1024,
  bytesPerSecond: 16 * 1024 * 1024,
} as const satisfies RateLimitConfig;

/** Pure: the state of a new connection (a full bucket). */
export function initialRateState(cfg: RateLimitConfig, now: number): RateState {
  return { tokens: cfg.burst, bytes: cfg.bytesBurst ?? 0, at: now, strikes: 0 };
}

/** Pure: charges one frame of `size` bytes at time `now` (ms). */
export function chargeFrame(
  cfg: RateLimitConfig,
  state: RateState,
  now: number,
  size = 0,
): { verdict: RateVerdict; state: RateState } {
  const elapsed = Math.max(0, now - state.at);
  const tokens = Math.min(cfg.burst, state.tokens + (elapsed / 1000) * cfg.perSecond);
  const byteCap = cfg.bytesBurst;
  const bytes =
    byteCap === undefined ? 0 : Math.min(byteCap, state.bytes + (elapsed / 1000) * (cfg.bytesPerSecond ?? 0));
  const bytesOk = byteCap === undefined || bytes >= size;
  const rested = tokens >= cfg.burst && (byteCap === undefined || bytes >= byteCap);
  const strikes = rested ? 0 : state.strikes;
  if (tokens >= 1 && bytesOk) {
    const left = byteCap === undefined ? 0 : bytes - size;
    return { verdict: "allow", state: { tokens: tokens - 1, bytes: left, at: now, strikes } };
  }
  const next = { tokens, bytes, at: now, strikes: strikes + 1 };
  if (next.strikes >= cfg.maxStrikes) return { verdict: "close", state: next };
  return { verdict: next.strikes === 1 ? "warn" : "drop", state: next };
}
