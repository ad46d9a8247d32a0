import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import { ConversationHub, type HubEntry } from "./hub";

const C = "c1";
const ev = (turnId: string, delta: string): AgentEvent => ({
  type: "text-delta",
  conversationId: C,
  turnId,
  delta,
});

function collector() {
  const seen: HubEntry[] = [];
  return { seen, listener: (event: AgentEvent, n: number | undefined) => seen.push({ event, n }) };
}

function makeHub(limit = 100) {
  const logger = createMemoryLogger();
  return { hub: new ConversationHub(C, { replayBufferLimit: limit, logger }), logger };
}

describe("ConversationHub", () => {
  test("the replay buffer is bounded in characters as well as events; the newest is always kept", () => {
    const logger = createMemoryLogger();
    const hub = new ConversationHub(C, { replayBufferLimit: 100, replayBufferChars: 10, logger });
    hub.beginTurn("t1");
    for (const d of ["aaaa", "bbbb", "cccc"]) hub.publish(ev("t1", d));
    // 12 characters > 10: the oldest went.
    expect(hub.replay().map((e) => e.n)).toEqual([2, 3]);
    hub.publish(ev("t1", "x".repeat(50)));
    expect(hub.replay().map((e) => e.n)).toEqual([4]);
    for (const d of ["1", "2", "3"]) hub.publish(ev("t1", d));
    expect(hub.replay().map((e) => e.n)).toEqual([5, 6, 7]);
    // Count and characters together, across wrap-arounds of the ring.
    const small = new ConversationHub(C, { replayBufferLimit: 3, replayBufferChars: 5, logger });
    small.beginTurn("t1");
    for (let i = 1; i <= 20; i++) small.publish(ev("t1", i % 4 === 0 ? "zzzz" : "y"));
    const kept = small.replay();
    // 17..20 are y, y, y, zzzz: the last three hold 6 characters, so only 19 and 20 stay.
    expect(kept.map((e) => e.n)).toEqual([19, 20]);
  });

  test("numbers events 1-based within a turn and restarts per turn", () => {
    const { hub } = makeHub();
    const a = collector();
    hub.subscribe(a.listener);
    hub.beginTurn("t1");
    hub.publish(ev("t1", "a"));
    hub.publish(ev("t1", "b"));
    hub.endTurn("t1");
    hub.beginTurn("t2");
    hub.publish(ev("t2", "c"));
    expect(a.seen.map((e) => e.n)).toEqual([1, 2, 1]);
  });

  test("status events are delivered unnumbered and not replayed", () => {
    const { hub } = makeHub();
    hub.beginTurn("t1");
    const a = collector();
    hub.subscribe(a.listener);
    hub.publish({ type: "status", conversationId: C, status: "active" });
    expect(a.seen).toEqual([
      { event: { type: "status", conversationId: C, status: "active" }, n: undefined },
    ]);
    expect(hub.replay()).toEqual([]);
  });

  test("a late joiner gets the replay then live events: same sequence as an early subscriber", () => {
    const { hub } = makeHub();
    const early = collector();
    hub.subscribe(early.listener);
    hub.beginTurn("t1");
    for (const d of ["a", "b", "c"]) hub.publish(ev("t1", d));
    const late = collector();
    hub.subscribe(late.listener);
    for (const d of ["d", "e"]) hub.publish(ev("t1", d));
    expect(late.seen).toEqual(early.seen);
    expect(late.seen.map((e) => e.n)).toEqual([1, 2, 3, 4, 5]);
  });

  test("resume replays only events after n of the running turn", () => {
    const { hub } = makeHub();
    hub.beginTurn("t1");
    for (const d of ["a", "b", "c", "d"]) hub.publish(ev("t1", d));
    const r = collector();
    hub.subscribe(r.listener, { turnId: "t1", n: 2 });
    hub.publish(ev("t1", "e"));
    expect(r.seen.map((e) => e.n)).toEqual([3, 4, 5]);
  });

  test("resume of the last sealed turn replays its tail; plain subscribe after sealing replays nothing", () => {
    const { hub } = makeHub();
    hub.beginTurn("t1");
    for (const d of ["a", "b", "c"]) hub.publish(ev("t1", d));
    hub.endTurn("t1");
    expect(hub.replay({ turnId: "t1", n: 1 }).map((e) => e.n)).toEqual([2, 3]);
    expect(hub.replay()).toEqual([]);
  });

  test("resume naming an older turn replays the whole running turn", () => {
    const { hub } = makeHub();
    hub.beginTurn("t1");
    hub.publish(ev("t1", "a"));
    hub.endTurn("t1");
    hub.beginTurn("t2");
    hub.publish(ev("t2", "b"));
    hub.publish(ev("t2", "c"));
    expect(hub.replay({ turnId: "t1", n: 1 }).map((e) => e.n)).toEqual([1, 2]);
  });

  test("the replay buffer is bounded and keeps the newest events", () => {
    const { hub } = makeHub(3);
    hub.beginTurn("t1");
    for (const d of ["a", "b", "c", "d", "e"]) hub.publish(ev("t1", d));
    expect(hub.replay().map((e) => e.n)).toEqual([3, 4, 5]);
    expect(hub.replay({ turnId: "t1", n: 1 }).map((e) => e.n)).toEqual([3, 4, 5]);
  });

  test("a full buffer keeps the newest events in order however often it wraps", () => {
    const { hub } = makeHub(3);
    hub.beginTurn("t1");
    for (let i = 0; i < 10; i++) hub.publish(ev("t1", `d${i}`));
    expect(hub.replay().map((e) => e.n)).toEqual([8, 9, 10]);
    expect(hub.replay({ turnId: "t1", n: 8 }).map((e) => e.n)).toEqual([9, 10]);
    hub.beginTurn("t2");
    hub.publish(ev("t2", "x"));
    expect(hub.replay().map((e) => e.n)).toEqual([1]);
  });

  test("a throwing listener is logged and affects neither other listeners nor later events", async () => {
    const { hub, logger } = makeHub();
    const before = collector();
    const after = collector();
    hub.subscribe(before.listener);
    hub.subscribe(() => {
      throw new Error("boom");
    });
    hub.subscribe(async () => {
      throw new Error("async boom");
    });
    hub.subscribe(after.listener);
    hub.beginTurn("t1");
    hub.publish(ev("t1", "a"));
    hub.publish(ev("t1", "b"));
    await Promise.resolve();
    expect(before.seen.length).toBe(2);
    expect(after.seen.length).toBe(2);
    const errors = logger.records.filter((r) => r.level === "error");
    expect(errors.map((r) => String(r.fields.error)).sort()).toEqual([
      "async boom",
      "async boom",
      "boom",
      "boom",
    ]);
  });

  test("unsubscribing during delivery does not skip other listeners", () => {
    const { hub } = makeHub();
    const b = collector();
    let off = () => {};
    off = hub.subscribe(() => off());
    hub.subscribe(b.listener);
    hub.beginTurn("t1");
    hub.publish(ev("t1", "a"));
    hub.publish(ev("t1", "b"));
    expect(b.seen.length).toBe(2);
    expect(hub.listenerCount).toBe(1);
  });

  test("onLive sees every live event once, never replays", () => {
    const live: (number | undefined)[] = [];
    const hub = new ConversationHub(C, {
      replayBufferLimit: 10,
      logger: createMemoryLogger(),
      onLive: (_e, n) => live.push(n),
    });
    hub.beginTurn("t1");
    hub.publish(ev("t1", "a"));
    hub.subscribe(() => {});
    hub.publish(ev("t1", "b"));
    expect(live).toEqual([1, 2]);
  });
});
