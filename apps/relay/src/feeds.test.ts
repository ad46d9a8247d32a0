import { describe, expect, test } from "bun:test";
import { conversationKeys, entryFields, type StreamEntry } from "@dispatch/relay-streams";
import { haveRedis, testRedis, uniquePrefix } from "@dispatch/testkit";
import { RedisClient } from "bun";
import { catchUp, Feeds } from "./feeds";

const entry = (ms: number, n: number): StreamEntry => ({
  id: `${ms}-${n}`,
  turnId: `t${ms}`,
  n,
  event: { type: "text-delta", turnId: `t${ms}`, text: String(n) } as unknown as StreamEntry["event"],
  json: "{}",
});
const ids = (es: readonly StreamEntry[]) => es.map((e) => e.id);

describe("catchUp: a new watcher's catch-up merged with what the reader buffered meanwhile", () => {
  test("buffered live entries that repeat the catch-up's tail are delivered once, in order", () => {
    const caught = [entry(5, 11), entry(5, 12), entry(5, 13)];
    const buffered = [entry(5, 12), entry(5, 13), entry(5, 14)];
    const r = catchUp("5-10", caught, buffered);
    expect(ids(r.deliver)).toEqual(["5-11", "5-12", "5-13", "5-14"]);
    expect(r.lastId).toBe("5-14");
  });

  test("a lagging reader's entries from before the resume point are dropped", () => {
    // The viewer resumes at n=10 (seen on another relay); this relay's reader is still at n=6.
    const buffered = [entry(5, 7), entry(5, 8), entry(5, 9), entry(5, 10), entry(5, 11)];
    const r = catchUp("5-10", [], buffered);
    expect(ids(r.deliver)).toEqual(["5-11"]);
    expect(r.lastId).toBe("5-11");
  });

  test("nothing new: nothing delivered, the position stays", () => {
    expect(catchUp("5-10", [], [entry(5, 9)])).toEqual({ deliver: [], lastId: "5-10" });
  });

  test("a running turn replayed from <turnMs>-0 keeps a later turn's entries after it", () => {
    const caught = [entry(5, 1), entry(5, 2)];
    const buffered = [entry(4, 9), entry(5, 2), entry(9, 1)];
    expect(ids(catchUp("5-0", caught, buffered).deliver)).toEqual(["5-1", "5-2", "9-1"]);
  });
});

describe.skipIf(!haveRedis)("Feeds against a real redis-server", () => {
  test("a catch-up longer than one XRANGE page is delivered whole, each entry once", async () => {
    const redis = await testRedis();
    const prefix = uniquePrefix("feeds");
    const feeds = new Feeds({ redis: redis.url, prefix });
    const client = new RedisClient(redis.url);
    try {
      const C = "c-long";
      const { events, turns } = conversationKeys(prefix, C);
      const turnMs = 1_000;
      const total = 10_250; // more than one page of 10 000
      for (let at = 1; at <= total; at += 500) {
        const batch: Promise<unknown>[] = [];
        for (let n = at; n < Math.min(total + 1, at + 500); n++) {
          const event = { type: "text-delta", conversationId: C, turnId: "t", delta: `${n} ` };
          batch.push(client.send("XADD", [events, `${turnMs}-${n}`, ...entryFields("t", n, event as never)]));
        }
        await Promise.all(batch);
      }
      await client.send("HSET", [turns, "t", String(turnMs)]);
      await feeds.ready();
      const got: number[] = [];
      const stop = await feeds.watch(
        C,
        { deliver: (es) => got.push(...es.map((e) => e.n)) },
        { turnId: "t", n: 100 },
      );
      stop();
      expect(got.length).toBe(total - 100);
      expect(got[0]).toBe(101);
      expect(got.at(-1)).toBe(total);
      expect(new Set(got).size).toBe(got.length);
    } finally {
      client.close();
      feeds.stop();
      await redis.stop();
    }
  }, 30_000);
});
