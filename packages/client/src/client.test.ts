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

describe("advanceCursor and re-sent permission requests", () => {
  const ask = (turnId: string, requestId: string): AgentEvent => ({
    type: "permission-request",
    conversationId: "c",
    turnId,
    requestId,
    toolCallId: "call",
    toolName: "run_shell",
    input: {},
    reason: "why",
  });
  test("a pending request re-sent without n after a resume is dropped once delivered", () => {
    const first = advanceCursor(undefined, ask("t1", "r1"), 4);
    expect(first).toEqual({ deliver: true, cursor: { turnId: "t1", n: 4, requests: ["r1"] } });
    expect(advanceCursor(first.cursor, ask("t1", "r1"), undefined).deliver).toBe(false);
    // The later events of the turn keep the record; a new request of the turn is still delivered.
    const later = advanceCursor(first.cursor, { type: "turn-start", conversationId: "c", turnId: "t1" }, 5);
    expect(later.cursor).toEqual({ turnId: "t1", n: 5, requests: ["r1"] });
    expect(advanceCursor(later.cursor, ask("t1", "r2"), undefined)).toEqual({
      deliver: true,
      cursor: { turnId: "t1", n: 5, requests: ["r1", "r2"] },
    });
  });
  test("a new turn forgets the requests of the last one", () => {
    const cursor = { turnId: "t1", n: 9, requests: ["r1"] };
    expect(advanceCursor(cursor, ask("t2", "r1"), 3)).toEqual({
      deliver: true,
      cursor: { turnId: "t2", n: 3, requests: ["r1"] },
    });
    expect(
      advanceCursor(cursor, { type: "turn-start", conversationId: "c", turnId: "t2" }, 1).cursor,
    ).toEqual({ turnId: "t2", n: 1 });
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

test("ndjsonLines: leaving the loop early cancels the stream", async () => {
  let cancelled: unknown = "not cancelled";
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"a":1}\n{"b":2}\n'));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  for await (const line of ndjsonLines(body)) {
    expect(line).toEqual({ a: 1 });
    break;
  }
  expect(cancelled).toBeUndefined();
});
