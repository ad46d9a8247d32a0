import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "@dispatch/protocol/types";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff";
import { advanceCursor } from "./cursor";
import { ndjsonLines } from "./ndjson";

describe("backoffDelay", () => {
  test("grows exponentially, is capped, and keeps half of the delay fixed", () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, policy, 0)).toBe(50);
    expect(backoffDelay(0, policy, 1)).toBe(100);
    expect(backoffDelay(3, policy, 0.5)).toBe(600);
    expect(backoffDelay(20, policy, 1)).toBe(1000);
    expect(backoffDelay(20, policy, 0)).toBe(500);
  });
  test("stays within bounds for any random value and huge attempts", () => {
    for (const r of [-1, 0, 0.3, 1, 2]) {
      const d = backoffDelay(10_000, DEFAULT_BACKOFF, r);
      expect(d).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.maxMs / 2);
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
    }
  });
});

describe("advanceCursor", () => {
  const ev = (turnId: string): AgentEvent => ({
    type: "text-delta",
    conversationId: "c",
    turnId,
    delta: "x",
  });
  test("drops the overlap of a replay and accepts what is new", () => {
    let cursor = advanceCursor(undefined, ev("t1"), 1).cursor;
    expect(cursor).toEqual({ turnId: "t1", n: 1 });
    cursor = advanceCursor(cursor, ev("t1"), 2).cursor;
    expect(advanceCursor(cursor, ev("t1"), 1).deliver).toBe(false);
    expect(advanceCursor(cursor, ev("t1"), 2).deliver).toBe(false);
    expect(advanceCursor(cursor, ev("t1"), 3)).toEqual({ deliver: true, cursor: { turnId: "t1", n: 3 } });
  });
  test("a new turn starts a new count; events without n always pass", () => {
    const cursor = { turnId: "t1", n: 9 };
    expect(advanceCursor(cursor, ev("t2"), 1)).toEqual({ deliver: true, cursor: { turnId: "t2", n: 1 } });
    expect(advanceCursor(cursor, ev("t1"), undefined)).toEqual({ deliver: true, cursor });
  });
});

describe("ndjsonLines", () => {
  const streamOf = (...parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
  test("reassembles lines split across chunks and skips blank lines", async () => {
    const out: unknown[] = [];
    for await (const v of ndjsonLines(streamOf('{"a":', "1}\n\n", '{"b":2}\n{"c"', ":3}"))) out.push(v);
    expect(out).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });
  test("a malformed line is an error naming the line", async () => {
    const run = async () => {
      for await (const _ of ndjsonLines(streamOf('{"a":1}\n{oops}\n'))) {
        // consume
      }
    };
    await expect(run()).rejects.toThrow("NDJSON line 2 is not valid JSON");
  });
});
