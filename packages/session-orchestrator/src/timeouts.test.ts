import { describe, expect, test } from "bun:test";
import { backoffDelay, parseOrchestratorConfig, RetryPolicySchema } from "./config";
import { AbortedError, guard, TimeoutError, withStreamTimeouts } from "./timeouts";

async function* parts(values: string[], hangAfter?: number) {
  for (const [i, v] of values.entries()) {
    if (hangAfter !== undefined && i === hangAfter) await new Promise(() => {});
    yield v;
  }
}

const neverAbort = new AbortController().signal;

describe("guard", () => {
  test("resolves with the promise", async () => {
    expect(await guard(Promise.resolve(7), { ms: 1000 })).toBe(7);
  });
  test("rejects with the timeout error when the promise never settles", async () => {
    const p = guard(new Promise(() => {}), { ms: 5, onTimeout: () => new Error("waited for x") });
    await expect(p).rejects.toThrow("waited for x");
  });
  test("rejects with AbortedError when the signal aborts", async () => {
    const ac = new AbortController();
    const p = guard(new Promise(() => {}), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
  });
});

describe("withStreamTimeouts", () => {
  test("passes every part through", async () => {
    const out: string[] = [];
    for await (const p of withStreamTimeouts(
      parts(["a", "b"]),
      { firstTokenMs: 1000, idleMs: 1000 },
      neverAbort,
      () => {},
    ))
      out.push(p);
    expect(out).toEqual(["a", "b"]);
  });

  test("first-token timeout names itself and calls onStop", async () => {
    const stops: Error[] = [];
    const run = async () => {
      for await (const _ of withStreamTimeouts(
        parts(["a"], 0),
        { firstTokenMs: 5, idleMs: 1000 },
        neverAbort,
        (e) => stops.push(e),
      )) {
      }
    };
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe("ORCH_FIRST_TOKEN_TIMEOUT");
    expect(stops.length).toBe(1);
  });

  test("idle timeout after the first part", async () => {
    const got: string[] = [];
    const run = async () => {
      for await (const p of withStreamTimeouts(
        parts(["a", "b"], 1),
        { firstTokenMs: 1000, idleMs: 5 },
        neverAbort,
        () => {},
      ))
        got.push(p);
    };
    const err = await run().catch((e: unknown) => e);
    expect((err as TimeoutError).code).toBe("ORCH_IDLE_TIMEOUT");
    expect(got).toEqual(["a"]);
  });

  test("a first-token deadline that passes after the first part is not a timeout", async () => {
    // The timer armed for the first token fires during the second wait: it must re-arm for the idle limit.
    async function* late() {
      yield "a";
      await Bun.sleep(120);
      yield "b";
    }
    const got: string[] = [];
    for await (const p of withStreamTimeouts(
      late(),
      { firstTokenMs: 30, idleMs: 60_000 },
      neverAbort,
      () => {},
    ))
      got.push(p);
    expect(got).toEqual(["a", "b"]);
  });

  test("the consumer's time between parts does not count toward the idle limit", async () => {
    const got: string[] = [];
    for await (const p of withStreamTimeouts(
      parts(["a", "b", "c"]),
      { firstTokenMs: 60_000, idleMs: 20 },
      neverAbort,
      () => {},
    )) {
      got.push(p);
      await Bun.sleep(60);
    }
    expect(got).toEqual(["a", "b", "c"]);
  });

  test("a source that fails ends the iteration with its error and no onStop", async () => {
    async function* failing() {
      yield "a";
      throw new Error("provider broke");
    }
    const stops: Error[] = [];
    const run = async () => {
      for await (const _ of withStreamTimeouts(
        failing(),
        { firstTokenMs: 1000, idleMs: 1000 },
        neverAbort,
        (e) => stops.push(e),
      )) {
      }
    };
    await expect(run()).rejects.toThrow("provider broke");
    expect(stops).toEqual([]);
  });

  test("breaking out closes the source", async () => {
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const i of withStreamTimeouts(
      endless(),
      { firstTokenMs: 1000, idleMs: 1000 },
      neverAbort,
      () => {},
    ))
      if (i === 2) break;
    await Bun.sleep(0);
    expect(closed).toBe(true);
  });

  test("abort ends the iteration even when the source ignores the signal", async () => {
    const ac = new AbortController();
    const run = async () => {
      for await (const _ of withStreamTimeouts(
        parts(["a", "b"], 1),
        { firstTokenMs: 1000, idleMs: 60_000 },
        ac.signal,
        () => {},
      ))
        ac.abort();
    };
    await expect(run()).rejects.toBeInstanceOf(AbortedError);
  });
});

describe("config", () => {
  test("defaults fill every field", () => {
    const r = parseOrchestratorConfig(undefined);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.maxSteps).toBe(50);
      expect(r.value.timeouts.toolMs).toBe(600_000);
      expect(r.value.retry.maxAttempts).toBe(3);
    }
  });
  test("an invalid field is named", () => {
    const r = parseOrchestratorConfig({ maxSteps: 0, timeouts: { idleMs: "x" } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain("maxSteps");
      expect(r.message).toContain("timeouts.idleMs");
    }
  });
  test("unknown keys are refused", () => {
    expect(parseOrchestratorConfig({ maxStep: 3 }).ok).toBe(false);
  });
  test("backoff grows exponentially and is capped", () => {
    const p = RetryPolicySchema.parse({ initialDelayMs: 100, factor: 2, maxDelayMs: 500 });
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, p))).toEqual([100, 200, 400, 500, 500]);
  });
});
