/**
 * Protocol levels through the real shell: a connection is level 1 until `hello` asks for 2; level 1
 * sees only the original message and event types (PROTOCOL.md, top), level 2 everything.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LEVEL1_EVENT_TYPES, LEVEL1_SERVER_MESSAGE_TYPES } from "@dispatch/protocol";
import type { AgentEventType, ServerMessageType } from "@dispatch/protocol/types";
import { startTestDaemon, TestClient, type TestDaemon } from "./test-support";

let d: TestDaemon;
const clients: TestClient[] = [];

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d.stop();
});

async function connect(level: 1 | 2): Promise<TestClient> {
  const c = await TestClient.connect(d.url, { level });
  clients.push(c);
  await c.nextOf("catalog");
  return c;
}

const frameTypes = (c: TestClient) => new Set(c.frames.map((f) => f.type));
const eventTypes = (c: TestClient, cid: string) => new Set(c.deltas(cid).map((f) => f.event.type));

describe("levels", () => {
  test("a level-1 and a level-2 watcher of one turn: level 1 gets only the original types", async () => {
    const one = await connect(1);
    const two = await connect(2);
    const cid = "levels-turn";
    await two.request({ type: "chat.subscribe", conversationId: cid }, "w2");
    // Level 1 sends no ids (the original frontend): fire-and-forget.
    one.send({ type: "chat.subscribe", conversationId: cid });
    await two.nextOf("conversation.presence", (f) => f.watchers === 2);
    two.send({ type: "chat.send", conversationId: cid, message: "hello levels", id: "s" });
    await Promise.all([one.sealed(cid), two.sealed(cid)]);

    for (const t of frameTypes(one))
      expect(LEVEL1_SERVER_MESSAGE_TYPES.has(t as ServerMessageType)).toBe(true);
    for (const t of eventTypes(one, cid)) expect(LEVEL1_EVENT_TYPES.has(t as AgentEventType)).toBe(true);
    expect(eventTypes(two, cid)).toContain("user-message");
    expect(eventTypes(two, cid)).toContain("step-complete");
    expect(frameTypes(two)).toContain("conversation.presence");

    // The same text, and the level-1 stream is the level-2 one minus the ext events (n may skip).
    const text = (c: TestClient) =>
      c
        .deltas(cid)
        .map((f) => (f.event.type === "text-delta" ? f.event.delta : ""))
        .join("");
    expect(text(one)).toBe(text(two));
    expect(text(one)).toContain("hello levels");
    // (The turn's numbered events; the unnumbered status after the seal may still be on its way.)
    const l1 = one
      .deltas(cid)
      .filter((f) => f.n !== undefined)
      .map((f) => `${f.n}:${f.event.type}`);
    const l2 = two
      .deltas(cid)
      .filter((f) => f.n !== undefined && LEVEL1_EVENT_TYPES.has(f.event.type))
      .map((f) => `${f.n}:${f.event.type}`);
    expect(l1).toEqual(l2);
  });

  test("a late joiner at level 1 is replayed only level-1 events", async () => {
    const two = await connect(2);
    const cid = "levels-replay";
    two.send({ type: "chat.send", conversationId: cid, message: "/slow 20\n/long 30\nslowly" });
    await two.next((f) => f.type === "chat.delta" && f.event.type === "text-delta", "a text delta");
    const one = await connect(1);
    one.send({ type: "chat.subscribe", conversationId: cid });
    await one.sealed(cid);
    const types = one.deltas(cid).map((f) => f.event.type);
    expect(types[0]).toBe("turn-start");
    for (const t of types) expect(LEVEL1_EVENT_TYPES.has(t)).toBe(true);
  });

  test("hello: unknown level, garbage, a second hello and a late hello get clear errors; the connection stays", async () => {
    const c = await connect(1);
    expect(await c.request({ type: "hello", protocol: 3 }, "h3")).toMatchObject({
      type: "error",
      code: "WS_UNSUPPORTED_PROTOCOL",
    });
    c.send({ type: "hello", protocol: "two" });
    expect((await c.nextOf("error")).message).toContain("hello: protocol");
    const ok = await c.request({ type: "hello", protocol: 2 }, "h2");
    expect(ok).toEqual({ type: "ack", replyTo: "h2" });
    expect(c.frames.find((f) => f.type === "hello")).toMatchObject({
      protocol: 2,
      server: { name: "dispatch" },
    });
    expect(await c.request({ type: "hello", protocol: 2 }, "again")).toMatchObject({
      code: "WS_HELLO_REPEATED",
    });

    const late = await connect(1);
    await late.request({ type: "ping" }, "p");
    expect(await late.request({ type: "hello", protocol: 2 }, "late")).toMatchObject({
      code: "WS_HELLO_LATE",
    });
    expect(await late.request({ type: "ping" }, "still")).toEqual({ type: "ack", replyTo: "still" });
  });
});
