import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import { createMetricsRegistry } from "@dispatch/metrics";
import type { AgentEvent, StoredChunk } from "@dispatch/protocol/types";
import {
  conversationKeys,
  decodeEntries,
  decodeShare,
  RedisLink,
  shareKey,
  sharesChannel,
} from "@dispatch/relay-streams";
import {
  haveRedis,
  startRedisServer,
  type TestRedis,
  testRedis,
  uniquePrefix,
  withTimeout,
} from "@dispatch/testkit";
import { type PublishedShare, type PublisherSources, startPublisher } from "./publisher";

/** A daemon's side as the publisher sees it: events, replay of the running turn, shares. */
function world() {
  const listeners = new Map<string, Set<(e: AgentEvent, n: number | undefined) => void>>();
  const running = new Map<string, { event: AgentEvent; n: number }[]>();
  const shareListeners = new Set<(s: PublishedShare) => void>();
  const shares: PublishedShare[] = [];
  const chunks: StoredChunk[] = [];
  const sources: PublisherSources = {
    // As the orchestrator's subscribe: the running turn first, synchronously, then live.
    subscribe: (id, l) => {
      for (const r of running.get(id) ?? []) l(r.event, r.n);
      const set = listeners.get(id) ?? new Set();
      set.add(l);
      listeners.set(id, set);
      return () => void set.delete(l);
    },
    replay: (id) => running.get(id) ?? [],
    status: () => ({ isActive: true, status: "active" }),
    chunks: (_id, since, limit) => chunks.filter((c) => c.seq > since).slice(-limit),
    shares: {
      list: () => shares,
      onChange: (l) => {
        shareListeners.add(l);
        return () => void shareListeners.delete(l);
      },
    },
  };
  return {
    sources,
    chunks,
    emit(conversationId: string, turnId: string, n: number, event: Partial<AgentEvent> & { type: string }) {
      const full = { conversationId, turnId, ...event } as AgentEvent;
      const list = running.get(conversationId) ?? [];
      list.push({ event: full, n });
      running.set(conversationId, list);
      for (const l of listeners.get(conversationId) ?? []) l(full, n);
    },
    share(s: PublishedShare) {
      const i = shares.findIndex((x) => x.shareId === s.shareId);
      if (i >= 0) shares[i] = s;
      else shares.push(s);
      for (const l of shareListeners) l(s);
    },
  };
}

const share = (conversationId: string, over: Partial<PublishedShare> = {}): PublishedShare => ({
  shareId: `s-${conversationId}`,
  conversationId,
  secretHash: "ab".repeat(32),
  createdAt: Date.now(),
  expiresAt: Date.now() + 3_600_000,
  ...over,
});

describe.skipIf(!haveRedis)("the relay publisher against a real redis-server", () => {
  let redis: TestRedis;
  let reader: RedisLink;
  beforeAll(async () => {
    redis = await testRedis();
    reader = new RedisLink({ url: redis.url, name: "test reader" });
    await reader.ready();
  });
  afterAll(async () => {
    reader.close();
    await redis.stop();
  });
  const validate = (e: unknown) => e as AgentEvent;
  const events = async (prefix: string, id: string) =>
    decodeEntries(await reader.send("XRANGE", [conversationKeys(prefix, id).events, "-", "+"]), validate);

  test("publishes the events of shared conversations only, with ids <turnMs>-<n>, and the share record", async () => {
    const w = world();
    const prefix = uniquePrefix();
    w.share(share("c1"));
    const p = startPublisher({ redis: redis.url, prefix }, w.sources, { logger: silentLogger });
    expect(await p.ready()).toBe(true);
    w.emit("c1", "t1", 1, { type: "user-message", text: "hi" });
    w.emit("c1", "t1", 2, { type: "turn-start" });
    w.emit("c2", "t9", 1, { type: "turn-start" });
    w.emit("c1", "t1", 3, { type: "text-delta", delta: "yo" });
    await p.drained();
    const got = await events(prefix, "c1");
    expect(got.map((e) => [e.turnId, e.n, e.event.type])).toEqual([
      ["t1", 1, "user-message"],
      ["t1", 2, "turn-start"],
      ["t1", 3, "text-delta"],
    ]);
    const turnMs = got[0]?.id.split("-")[0];
    expect(got.map((e) => e.id)).toEqual([`${turnMs}-1`, `${turnMs}-2`, `${turnMs}-3`]);
    expect(await reader.send("HGET", [conversationKeys(prefix, "c1").turns, "t1"])).toBe(turnMs);
    expect(await events(prefix, "c2")).toEqual([]);
    const rec = decodeShare(await reader.send("GET", [shareKey(prefix, "s-c1")]));
    expect(rec).toMatchObject({ shareId: "s-c1", conversationId: "c1" });
    expect(await reader.send("EXISTS", [conversationKeys(prefix, "c1").owner])).toBe(1);
    await p.stop();
    expect(await reader.send("EXISTS", [conversationKeys(prefix, "c1").owner])).toBe(0);
  });

  test("a share created mid-turn publishes the history and the turn so far; revoking announces it", async () => {
    const w = world();
    const prefix = uniquePrefix();
    w.chunks.push({ seq: 1, role: "user", chunk: { type: "text", text: "earlier" } });
    const p = startPublisher({ redis: redis.url, prefix }, w.sources, { logger: silentLogger });
    await p.ready();
    w.emit("c3", "t1", 1, { type: "user-message", text: "q" });
    w.emit("c3", "t1", 2, { type: "turn-start" });
    const notices: string[] = [];
    const sub = new RedisLink({
      url: redis.url,
      name: "test sub",
      subscribe: { channels: [sharesChannel(prefix)], listener: (m) => notices.push(m) },
    });
    await sub.ready();
    w.share(share("c3"));
    w.emit("c3", "t1", 3, { type: "text-delta", delta: "a" });
    await p.drained();
    expect((await events(prefix, "c3")).map((e) => e.n)).toEqual([1, 2, 3]);
    expect(await reader.send("ZCARD", [conversationKeys(prefix, "c3").chunks])).toBe(1);

    w.share(share("c3", { revokedAt: Date.now() }));
    await p.drained();
    await withTimeout(
      (async () => {
        while (notices.length === 0) await Bun.sleep(5);
      })(),
      2_000,
      "the revocation notice",
    );
    expect(JSON.parse(notices[0] as string)).toEqual({
      shareId: "s-c3",
      conversationId: "c3",
      revoked: true,
    });
    expect(decodeShare(await reader.send("GET", [shareKey(prefix, "s-c3")]))?.revokedAt).toBeNumber();
    // No live share left: later events stay local.
    w.emit("c3", "t1", 4, { type: "text-delta", delta: "b" });
    await p.drained();
    expect((await events(prefix, "c3")).map((e) => e.n)).toEqual([1, 2, 3]);
    sub.close();
    await p.stop();
  });
});

describe.skipIf(!haveRedis)("Redis down, slow or restarted", () => {
  test("never blocks the emitter; drops are counted; a restart republishes the running turn exactly", async () => {
    const redis = await startRedisServer();
    const reader = new RedisLink({ url: redis.url, name: "test reader" });
    try {
      const w = world();
      const prefix = uniquePrefix();
      const metrics = createMetricsRegistry();
      w.share(share("c1"));
      const p = startPublisher({ redis: redis.url, prefix, bufferMax: 100 }, w.sources, {
        logger: silentLogger,
        metrics,
      });
      await p.ready();
      w.emit("c1", "t1", 1, { type: "user-message", text: "q" });
      w.emit("c1", "t1", 2, { type: "turn-start" });
      await p.drained();

      await redis.kill();
      // Emitting is synchronous and awaits nothing while Redis is gone; 300 events overflow the 100-op buffer.
      for (let n = 3; n < 303; n++) w.emit("c1", "t1", n, { type: "text-delta", delta: String(n) });
      expect(p.buffered).toBe(100);
      expect(metrics.render()).toMatch(/dispatch_relay_publish_dropped_total 200/);

      await redis.start();
      await reader.ready();
      await withTimeout(
        (async () => {
          while (!p.up) await Bun.sleep(10);
        })(),
        10_000,
        "the publisher to reconnect",
      );
      await p.drained();
      const got = decodeEntries(
        await reader.send("XRANGE", [conversationKeys(prefix, "c1").events, "-", "+"]),
        (e) => e as AgentEvent,
      );
      expect(got.map((e) => e.n)).toEqual(Array.from({ length: 302 }, (_, i) => i + 1));
      expect(decodeShare(await reader.send("GET", [shareKey(prefix, "s-c1")]))?.shareId).toBe("s-c1");
      await p.stop();
    } finally {
      reader.close();
      await redis.stop();
    }
  });
});
