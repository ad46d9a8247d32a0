import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "@dispatch/protocol/types";
import { RecentEvents } from "./recent-events";

const ev = (conversationId: string, n: number) =>
  ({ type: "text-delta", conversationId, turnId: "t", delta: String(n) }) as unknown as AgentEvent;

function stamp(log: RecentEvents, conversationId: string, n: number) {
  const at = log.next();
  log.record({ conversationId, event: ev(conversationId, n), n, at });
  return at;
}

describe("RecentEvents: the hubs' clock and what a wildcard stream missed", () => {
  test("everything after a place, of every conversation, in clock order", () => {
    const log = new RecentEvents(100);
    stamp(log, "a", 1);
    const place = stamp(log, "b", 1);
    stamp(log, "a", 2);
    stamp(log, "c", 1);
    stamp(log, "b", 2);
    expect(log.since(log.id, place)?.map((e) => `${e.conversationId}${e.n}`)).toEqual(["a2", "c1", "b2"]);
    expect(log.since(log.id, 5)).toEqual([]);
    expect(log.since(log.id, 0)?.length).toBe(5);
  });

  test("unknown when it cannot answer whole: another clock, a future place, events already dropped", () => {
    const log = new RecentEvents(3);
    for (let n = 1; n <= 5; n++) stamp(log, "a", n);
    expect(log.since("someone-else", 4)).toBeUndefined();
    expect(log.since(log.id, 6)).toBeUndefined();
    expect(log.since(log.id, -1)).toBeUndefined();
    // 1 and 2 are gone: after 1 would miss 2; after 2 is whole.
    expect(log.since(log.id, 1)).toBeUndefined();
    expect(log.since(log.id, 2)?.map((e) => e.n)).toEqual([3, 4, 5]);
  });

  test("bounded by characters too: a few big tool results push the oldest out", () => {
    const log = new RecentEvents(100, 1_000);
    const big = () =>
      ({
        type: "tool-output",
        conversationId: "a",
        turnId: "t",
        toolCallId: "x",
        stream: "stdout",
        data: "x".repeat(400),
      }) as unknown as AgentEvent;
    for (let n = 1; n <= 5; n++) log.record({ conversationId: "a", event: big(), n, at: log.next() });
    // 400 characters each, at most 1 000: the last two are kept.
    expect(log.since(log.id, 3)?.map((e) => e.at)).toEqual([4, 5]);
    expect(log.since(log.id, 2)).toBeUndefined();
  });

  test("recorded out of order (a publish inside a publish): answered in clock order", () => {
    const log = new RecentEvents(10);
    const outer = log.next();
    const inner = log.next();
    log.record({ conversationId: "b", event: ev("b", 1), n: 1, at: inner });
    log.record({ conversationId: "a", event: ev("a", 1), n: 1, at: outer });
    expect(log.since(log.id, 0)?.map((e) => e.at)).toEqual([outer, inner]);
  });

  test("clock ids differ between instances (a restarted daemon's places mean nothing)", () => {
    expect(new RecentEvents().id).not.toBe(new RecentEvents().id);
    expect(new RecentEvents().id).toMatch(/^[0-9a-f]{16}$/);
  });
});
