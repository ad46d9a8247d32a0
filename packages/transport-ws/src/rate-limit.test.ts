import { describe, expect, test } from "bun:test";
import {
  chargeFrame,
  initialRateState,
  type RateLimitConfig,
  type RateState,
  type RateVerdict,
} from "./rate-limit";

const cfg: RateLimitConfig = { burst: 3, perSecond: 1, maxStrikes: 3 };

function run(times: number[], c: RateLimitConfig = cfg): RateVerdict[] {
  let state: RateState = initialRateState(c, 0);
  const out: RateVerdict[] = [];
  for (const t of times) {
    const r = chargeFrame(c, state, t);
    state = r.state;
    out.push(r.verdict);
  }
  return out;
}

describe("rate limit", () => {
  test("a burst within the bucket passes", () => {
    expect(run([0, 0, 0])).toEqual(["allow", "allow", "allow"]);
  });

  test("over the bucket: warn once, drop, then close when sustained", () => {
    expect(run([0, 0, 0, 0, 0, 0])).toEqual(["allow", "allow", "allow", "warn", "drop", "close"]);
  });

  test("tokens refill over time", () => {
    expect(run([0, 0, 0, 0, 1000])).toEqual(["allow", "allow", "allow", "warn", "allow"]);
  });

  test("strikes are forgiven once the bucket is full again", () => {
    expect(run([0, 0, 0, 0, 0, 10_000, 10_000, 10_000, 10_000, 10_000])).toEqual([
      "allow",
      "allow",
      "allow",
      "warn",
      "drop",
      "allow",
      "allow",
      "allow",
      "warn",
      "drop",
    ]);
  });

  test("a flood that lets a token through now and then is still closed", () => {
    // 2 frames per second against 1 per second: the bucket never refills completely.
    const times = [0, 0, 0, 0, 500, 1000, 1500, 2000, 2500, 3000];
    const verdicts = run(times);
    expect(verdicts).toContain("close");
    expect(verdicts.indexOf("warn")).toBeLessThan(verdicts.indexOf("close"));
  });

  test("a clock that goes backwards does not mint tokens", () => {
    expect(run([1000, 1000, 1000, 0, 0])).toEqual(["allow", "allow", "allow", "warn", "drop"]);
  });
});
