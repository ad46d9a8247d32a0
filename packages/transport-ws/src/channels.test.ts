/**
 * Wildcard channels and batching through the real shell (Bun.serve, real WebSocket clients) over a
 * stub orchestrator whose events the test emits: replay of running turns, new conversations,
 * workspaces, one delivery per socket, one serialization per event, batches that carry every event once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import type { AgentEvent, ChatDeltaMessage, ServerMessage } from "@dispatch/protocol/types";
import { createSurfaceRegistry } from "@dispatch/surface-registry";
import { parseWsConfig } from "./config";
import { startWsServer, type WsServer } from "./server";
import { StubOrchestrator, startTestDaemon, TestClient } from "./test-support";

const TOKEN = "channels-token-0123456789";
const orchestrator = new StubOrchestrator();
const workspaces: Record<string, string> = { "in-w1": "w1", "in-w2": "w2" };
let server: WsServer;

beforeAll(() => {
  const parsed = parseWsConfig({ port: 0, token: TOKEN });
  if (!parsed.ok) throw new Error(parsed.message);
  server = startWsServer({
    config: parsed.config,
    token: TOKEN,
    registry: createSurfaceRegistry({ logger: silentLogger }),
    orchestrator,
    logger: silentLogger,
    newConversationId: () => crypto.randomUUID(),
    now: () => performance.now(),
    workspaceOf: (cid) => workspaces[cid],
  });
});
afterAll(async () => {
  await server.close();
});

async function connect(opts: { level?: 1 | 2; batchMs?: number } = {}): Promise<TestClient> {
  const c = await TestClient.connect(server.url, { token: TOKEN, ...opts });
  await c.nextOf("catalog");
  return c;
}

const delta = (conversationId: string, text: string, turnId = "t1"): AgentEvent => ({
  type: "text-delta",
  conversationId,
  turnId,
  delta: text,
});
const isDelta = (text: string) => (f: ServerMessage) =>
  f.type === "chat.delta" && f.event.type === "text-delta" && f.event.delta === text;
/** Every text-delta a client got, in order, from chat.delta and chat.batch frames alike. */
const texts = (c: TestClient): string[] =>
  c.frames.flatMap((f) => {
    const events =
      f.type === "chat.delta" ? [f.event] : f.type === "chat.batch" ? f.events.map((e) => e.event) : [];
    return events.flatMap((e) => (e.type === "text-delta" ? [`${e.conversationId}/${e.delta}`] : []));
  });

describe("conversation:*", () => {
  test("replays every running turn, then follows every conversation, new ones included", async () => {
    orchestrator.running = ["run-a", "run-b"];
    orchestrator.replayed = (cid) =>
      cid === "run-a" || cid === "run-b"
        ? [
            { event: delta(cid, "r1"), n: 1 },
            { event: delta(cid, "r2"), n: 2 },
          ]
        : [];
    const c = await connect();
    expect(await c.request({ type: "channel.subscribe", channel: "conversation:*" }, "s")).toEqual({
      type: "ack",
      replyTo: "s",
    });
    // The running turns' hubs are held; a new turn is tapped from its first event (TurnStarted).
    expect([orchestrator.subscribers("run-a"), orchestrator.subscribers("run-b")]).toEqual([1, 1]);
    orchestrator.emit("run-a", delta("run-a", "live-a"), 3);
    orchestrator.replayed = (cid) => (cid === "brand-new" ? [{ event: delta(cid, "first"), n: 1 }] : []);
    server.turnStarted("brand-new", "t1");
    orchestrator.emit("brand-new", delta("brand-new", "hello"), 2);
    await c.next(isDelta("hello"), "the new conversation's event");
    expect(texts(c)).toEqual([
      "run-a/r1",
      "run-a/r2",
      "run-b/r1",
      "run-b/r2",
      "run-a/live-a",
      "brand-new/first",
      "brand-new/hello",
    ]);
    // Settled while a next turn runs (a queued message started it): still held.
    server.turnSettled("run-b");
    expect(orchestrator.subscribers("run-b")).toBe(1);
    orchestrator.running = ["run-a"];
    server.turnSettled("run-b");
    expect(orchestrator.subscribers("run-b")).toBe(0);
    // Idempotent: a second subscribe replays nothing more.
    await c.request({ type: "channel.subscribe", channel: "conversation:*" }, "again");
    await c.request({ type: "channel.unsubscribe", channel: "conversation:*" }, "off");
    // The last wildcard watcher gone: no hub is held any more.
    expect([orchestrator.subscribers("run-a"), orchestrator.subscribers("brand-new")]).toEqual([0, 0]);
    orchestrator.emit("brand-new", delta("brand-new", "unheard"), 2);
    await c.request({ type: "ping" }, "barrier");
    expect(texts(c)).not.toContain("brand-new/unheard");
    c.close();
    orchestrator.running = [];
    orchestrator.replayed = () => [];
  });

  test("resume: a conversation named in resume replays only after its point", async () => {
    orchestrator.running = ["res-a"];
    orchestrator.replayed = (cid, resume) =>
      [1, 2, 3].filter((n) => n > (resume?.n ?? 0)).map((n) => ({ event: delta(cid, `e${n}`), n }));
    const c = await connect();
    await c.request(
      { type: "channel.subscribe", channel: "conversation:*", resume: { "res-a": { turnId: "t1", n: 2 } } },
      "s",
    );
    expect(texts(c)).toEqual(["res-a/e3"]);
    c.close();
    orchestrator.running = [];
    orchestrator.replayed = () => [];
  });

  test("one event is serialized once for channel watchers and direct watchers together", async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect()));
    await Promise.all(
      clients.map((c, i) =>
        c.request(
          i % 2 === 0
            ? { type: "channel.subscribe", channel: "conversation:*" }
            : { type: "chat.subscribe", conversationId: "cost" },
          `s${i}`,
        ),
      ),
    );
    let serialized = 0;
    const fields = delta("cost", "counted");
    const toJSON = () => {
      serialized++;
      return fields;
    };
    const event = { ...fields, toJSON } as unknown as AgentEvent;
    orchestrator.emit("cost", event, 5);
    const got = await Promise.all(
      clients.map((c) => c.next<ChatDeltaMessage>(isDelta("counted"), "the event")),
    );
    expect(got.every((f) => f.n === 5)).toBe(true);
    expect(serialized).toBe(1);
    for (const c of clients) c.close();
  });

  test("a socket on a channel that also watches the conversation gets each event once", async () => {
    orchestrator.running = ["both"];
    orchestrator.replayed = (cid) => (cid === "both" ? [{ event: delta(cid, "r1"), n: 1 }] : []);
    const c = await connect();
    await c.request({ type: "channel.subscribe", channel: "conversation:*" }, "ch");
    await c.request({ type: "chat.subscribe", conversationId: "both" }, "direct");
    await c.request({ type: "channel.subscribe", channel: "workspace:w1:*" }, "ws");
    orchestrator.emit("both", delta("both", "live"), 2);
    await c.next(isDelta("live"), "the live event");
    await c.request({ type: "chat.unsubscribe", conversationId: "both" }, "undirect");
    orchestrator.emit("both", delta("both", "after"), 3);
    await c.next(isDelta("after"), "the event after unsubscribing directly (the channel still covers it)");
    expect(texts(c)).toEqual(["both/r1", "both/live", "both/after"]);
    c.close();
    orchestrator.running = [];
    orchestrator.replayed = () => [];
  });
});

describe("workspace:<id>:*", () => {
  test("only that workspace's conversations", async () => {
    const c = await connect();
    await c.request({ type: "channel.subscribe", channel: "workspace:w1:*" }, "s");
    server.turnStarted("in-w2", "t1");
    server.turnStarted("in-w1", "t1");
    orchestrator.emit("in-w2", delta("in-w2", "no"), 1);
    orchestrator.emit("in-w1", delta("in-w1", "yes"), 1);
    await c.next(isDelta("yes"), "the w1 event");
    expect(texts(c)).toEqual(["in-w1/yes"]);
    c.close();
  });
});

describe("refusals", () => {
  test("bad channels get a coded error; a level-1 connection is told to say hello", async () => {
    const c = await connect();
    for (const [channel, code] of [
      ["conversation:", "CHANNEL_INVALID"],
      ["**", "CHANNEL_UNKNOWN_PREFIX"],
      [`conversation:${"x".repeat(10_000)}`, "PROTOCOL_TOO_LARGE"],
    ] as const) {
      const r = await c.request({ type: "channel.subscribe", channel }, `bad-${code}`);
      expect(r).toMatchObject({ type: "error", code });
    }
    c.close();
    const old = await connect({ level: 1 });
    const r = await old.request({ type: "channel.subscribe", channel: "conversation:*" }, "l1");
    expect(r).toMatchObject({ type: "error", code: "LEVEL2_REQUIRED" });
    old.close();
  });
});

describe("batching", () => {
  test("batched frames carry every event exactly once, in order, and only level 2 asks", async () => {
    const c = await connect({ batchMs: 30 });
    const plain = await connect();
    await c.request({ type: "channel.subscribe", channel: "conversation:*" }, "s");
    await c.request({ type: "chat.subscribe", conversationId: "bat-direct" }, "d");
    await plain.request({ type: "chat.subscribe", conversationId: "bat-direct" }, "pd");
    const sent: string[] = [];
    server.turnStarted("bat-channel", "t1");
    for (let i = 1; i <= 40; i++) {
      const cid = i % 10 < 5 ? "bat-direct" : "bat-channel";
      orchestrator.emit(cid, delta(cid, `e${i}`), i);
      sent.push(`${cid}/e${i}`);
    }
    orchestrator.emit("bat-channel", delta("bat-channel", "last"), 41);
    sent.push("bat-channel/last");
    await c.next(
      (f) =>
        f.type === "chat.batch"
          ? f.events.some((e) => e.event.type === "text-delta" && e.event.delta === "last")
          : isDelta("last")(f),
      "the last event",
    );
    expect(texts(c)).toEqual(sent);
    const batches = c.frames.filter((f) => f.type === "chat.batch");
    expect(batches.length).toBeGreaterThan(0);
    // A batch holds the events of one turn of one conversation, each with its n.
    for (const b of batches) {
      if (b.type !== "chat.batch") continue;
      expect(new Set(b.events.map((e) => e.event.conversationId)).size).toBe(1);
      expect(b.events.every((e) => typeof e.n === "number")).toBe(true);
    }
    // The plain watcher of the same conversation is not batched.
    await plain.next(isDelta("e40"), "e40 at the plain watcher");
    expect(plain.deltas("bat-direct").length).toBe(20);
    expect(plain.frames.some((f) => f.type === "chat.batch")).toBe(false);
    c.close();
    plain.close();
  });
});

describe("real daemon", () => {
  test("a wildcard watcher sees three concurrent conversations and one created after it subscribed", async () => {
    const daemon = await startTestDaemon();
    try {
      const watcher = await TestClient.connect(daemon.url);
      await watcher.request({ type: "channel.subscribe", channel: "conversation:*" }, "all");
      const sender = await TestClient.connect(daemon.url);
      const ids = ["c-one", "c-two", "c-three"];
      for (const id of ids) sender.send({ type: "chat.send", conversationId: id, message: `hi ${id}` });
      await Promise.all(ids.map((id) => watcher.sealed(id)));
      sender.send({ type: "chat.send", conversationId: "c-later", message: "late" });
      await watcher.sealed("c-later");
      for (const id of [...ids, "c-later"]) {
        const events = watcher.deltas(id).filter((f) => f.event.type !== "status");
        // Each turn whole and once: n = 1, 2, 3… from user-message to turn-sealed.
        expect(events.map((f) => f.n)).toEqual(events.map((_, i) => i + 1));
        expect(events[0]?.event.type).toBe("user-message");
        expect(events.at(-1)?.event.type).toBe("turn-sealed");
      }
      watcher.close();
      sender.close();
    } finally {
      await daemon.stop();
    }
  });
});
