/**
 * Fan-out cost and bookkeeping, through the real shell: one serialization per event whatever the
 * number of watchers, and nothing of a connection left behind once it has closed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import type { AgentEvent, ChatDeltaMessage, ServerMessage } from "@dispatch/protocol/types";
import { createSurfaceRegistry, type SurfaceProvider } from "@dispatch/surface-registry";
import { withTimeout } from "@dispatch/testkit";
import { parseWsConfig } from "./config";
import { startWsServer, type WsServer } from "./server";
import { StubOrchestrator, TestClient, WAIT_MS } from "./test-support";

const orchestrator = new StubOrchestrator();
const registry = createSurfaceRegistry({ logger: silentLogger });

/** A global surface that counts its `getSpec` calls; `change()` announces a new spec. */
let specCalls = 0;
let announce: () => void = () => {};
const probe: SurfaceProvider = {
  catalogEntry: { id: "probe", region: "sidebar", title: "Probe", scope: "global" },
  getSpec() {
    specCalls++;
    return { id: "probe", region: "sidebar", title: "Probe", fields: [] };
  },
  invoke: () => undefined,
  subscribe(onChange) {
    announce = () => onChange();
    return () => {
      announce = () => {};
    };
  },
};

let server: WsServer;
let closedCount = 0;
const closedWaiters: { count: number; resolve: () => void }[] = [];

beforeAll(() => {
  registry.register(probe);
  const parsed = parseWsConfig({ port: 0, token: "fanout-token-0123456789" });
  if (!parsed.ok) throw new Error(parsed.message);
  server = startWsServer({
    config: parsed.config,
    token: "fanout-token-0123456789",
    registry,
    orchestrator,
    logger: silentLogger,
    newConversationId: () => crypto.randomUUID(),
    now: () => performance.now(),
  });
  server.onConnectionClosed(() => {
    closedCount++;
    for (const w of closedWaiters.filter((x) => x.count <= closedCount)) {
      closedWaiters.splice(closedWaiters.indexOf(w), 1);
      w.resolve();
    }
  });
});
afterAll(async () => {
  await server.close();
});

/** Resolves once the server has seen `count` connections close in total. */
function serverSawClosed(count: number): Promise<void> {
  if (closedCount >= count) return Promise.resolve();
  const p = new Promise<void>((resolve) => closedWaiters.push({ count, resolve }));
  return withTimeout(p, WAIT_MS, `${count} closed connections at the server`);
}

async function connect(level: 1 | 2 = 2): Promise<TestClient> {
  const c = await TestClient.connect(server.url, { token: "fanout-token-0123456789", level });
  await c.nextOf("catalog");
  return c;
}

/** A text-delta whose serializations are counted (JSON.stringify calls its toJSON each time). */
function countedDelta(
  conversationId: string,
  delta: string,
): { event: AgentEvent; serialized: () => number } {
  let serialized = 0;
  const fields: AgentEvent = { type: "text-delta", conversationId, turnId: "turn-1", delta };
  const toJSON = () => {
    serialized++;
    return fields;
  };
  const event = { ...fields, toJSON } as AgentEvent;
  return { event, serialized: () => serialized };
}

const deltaOf = (delta: string) => (f: ServerMessage) =>
  f.type === "chat.delta" && f.event.type === "text-delta" && f.event.delta === delta;

describe("fan-out cost", () => {
  test("each chat.delta is serialized once, whatever the number of watchers", async () => {
    for (const watchers of [1, 30]) {
      const cid = `conv-cost-${watchers}`;
      const clients = await Promise.all(Array.from({ length: watchers }, connect));
      await Promise.all(
        clients.map((c, i) => c.request({ type: "chat.subscribe", conversationId: cid }, `w${i}`)),
      );
      const { event, serialized } = countedDelta(cid, `to ${watchers}`);
      orchestrator.emit(cid, event, 7);
      const got = await Promise.all(
        clients.map((c) => c.next<ChatDeltaMessage>(deltaOf(`to ${watchers}`), "the delta")),
      );
      expect(got.every((f) => f.n === 7 && f.event.conversationId === cid)).toBe(true);
      expect({ watchers, serialized: serialized() }).toEqual({ watchers, serialized: 1 });
      for (const c of clients) c.close();
    }
  });

  test("watchers of both levels: still one serialization per event, each level gets what it may see", async () => {
    const cid = "conv-cost-levels";
    const clients = [
      ...(await Promise.all(Array.from({ length: 3 }, () => connect(1)))),
      ...(await Promise.all(Array.from({ length: 3 }, () => connect(2)))),
    ];
    await Promise.all(
      clients.map((c, i) => c.request({ type: "chat.subscribe", conversationId: cid }, `lv${i}`)),
    );
    const { event, serialized } = countedDelta(cid, "to both");
    orchestrator.emit(cid, event, 3);
    await Promise.all(clients.map((c) => c.next<ChatDeltaMessage>(deltaOf("to both"), "the delta")));
    expect(serialized()).toBe(1);
    // An ext event reaches only level 2, and is not serialized for level 1 either.
    let extSerialized = 0;
    const ext = { type: "step-complete", conversationId: cid, turnId: "turn-1", stepId: "s1" } as const;
    const toJSON = () => {
      extSerialized++;
      return ext;
    };
    const counted = { ...ext, toJSON } as AgentEvent;
    orchestrator.emit(cid, counted, 4);
    const isExt = (f: ServerMessage) => f.type === "chat.delta" && f.event.type === "step-complete";
    await Promise.all(clients.slice(3).map((c) => c.next(isExt, "the step-complete")));
    // A marker after it: once level 1 has the marker, it would already have had the ext event.
    const marker = countedDelta(cid, "marker");
    orchestrator.emit(cid, marker.event, 5);
    await Promise.all(clients.map((c) => c.next(deltaOf("marker"), "the marker")));
    expect(extSerialized).toBe(1);
    for (const c of clients.slice(0, 3)) expect(c.frames.some(isExt)).toBe(false);
    for (const c of clients) c.close();
  });

  test("an event nobody watches is not serialized at all", () => {
    const { event, serialized } = countedDelta("conv-unwatched", "nobody");
    orchestrator.emit("conv-unwatched", event, 1);
    expect(serialized()).toBe(0);
  });
});

describe("one subscription per watched conversation", () => {
  test("the first watcher subscribes to the hub, more share it, the last one lets go", async () => {
    const cid = "conv-hub";
    expect(orchestrator.subscribers(cid)).toBe(0);
    const [a, b] = await Promise.all([connect(1), connect(2)]);
    if (!a || !b) throw new Error("two clients");
    await a.request({ type: "chat.subscribe", conversationId: cid }, "a");
    expect(orchestrator.subscribers(cid)).toBe(1);
    await b.request({ type: "chat.subscribe", conversationId: cid }, "b");
    expect(orchestrator.subscribers(cid)).toBe(1);
    await a.request({ type: "chat.unsubscribe", conversationId: cid }, "a-off");
    expect(orchestrator.subscribers(cid)).toBe(1);
    expect(server.connections().find((c) => c.conversations.includes(cid))?.level).toBe(2);
    await b.request({ type: "chat.unsubscribe", conversationId: cid }, "b-off");
    expect(orchestrator.subscribers(cid)).toBe(0);
    a.close();
    b.close();
  });
});

describe("closing releases everything", () => {
  test("after many connect/subscribe/close cycles no watcher, surface entry or connection is left", async () => {
    const cid = "conv-cycles";
    const rounds = 10;
    const perRound = 20;
    const closedBefore = closedCount + server.connections().length;
    for (let r = 0; r < rounds; r++) {
      const clients = await Promise.all(Array.from({ length: perRound }, connect));
      await Promise.all(
        clients.map(async (c, i) => {
          await c.request({ type: "chat.subscribe", conversationId: cid }, `c${r}-${i}`);
          await c.request({ type: "subscribe", surfaceId: "probe" }, `s${r}-${i}`);
        }),
      );
      // Half close on their own, half vanish mid-subscription (an unanswered subscribe in flight).
      for (const [i, c] of clients.entries()) {
        if (i % 2 === 1) c.send({ type: "subscribe", surfaceId: "probe", id: "in-flight" });
        c.close();
      }
    }
    await serverSawClosed(closedBefore + rounds * perRound);
    expect(server.connections()).toEqual([]);

    // The transport let go of the conversation's hub with its last watcher.
    expect(orchestrator.subscribers(cid)).toBe(0);
    // No watcher left: an event of the conversation is not even serialized.
    const { event, serialized } = countedDelta(cid, "after");
    orchestrator.emit(cid, event, 1);
    expect(serialized()).toBe(0);

    // No surface entry left: a change fetches nothing. The new subscriber's own fetch is the barrier
    // (a refresh would have been started before its subscribe even arrived).
    const callsBefore = specCalls;
    announce();
    const fresh = await connect();
    await fresh.request({ type: "subscribe", surfaceId: "probe" }, "fresh");
    expect(specCalls - callsBefore).toBe(1);

    // Presence counts only the live connection.
    await fresh.request({ type: "chat.subscribe", conversationId: cid }, "watch");
    const presence = await fresh.nextOf("conversation.presence", (f) => f.conversationId === cid);
    expect(presence.watchers).toBe(1);
    expect(server.connections().map((c) => [c.conversations, c.surfaces])).toEqual([[[cid], 1]]);
    fresh.close();
  }, 30_000);
});
