import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ConnectionClosed } from "./contract";
import { RawClient, startTestDaemon, TEST_TOKEN, TestClient, type TestDaemon, WAIT_MS } from "./test-support";

/** Small caps so the limits are reached quickly; prompts of ~1 MB still fit in a frame. */
const MAX_PAYLOAD = 2 * 1024 * 1024;
const MAX_BUFFERED = 256 * 1024;

let d: TestDaemon;
const closed: ConnectionClosed[] = [];
beforeAll(async () => {
  d = await startTestDaemon({ ws: { maxPayloadBytes: MAX_PAYLOAD, maxBufferedBytes: MAX_BUFFERED } });
  d.ws.onConnectionClosed((c) => closed.push(c));
});
afterAll(async () => {
  await d.stop();
});

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(d.url);
  await c.nextOf("catalog");
  return c;
}

describe("malformed frames", () => {
  const cases: { name: string; frame: string | Uint8Array; type: "error" | "chat.error"; code: string }[] = [
    { name: "invalid JSON", frame: "{not json", type: "error", code: "PROTOCOL_INVALID_JSON" },
    { name: "a non-object", frame: "42", type: "error", code: "PROTOCOL_NOT_AN_OBJECT" },
    {
      name: "a binary frame",
      frame: new Uint8Array([123, 125]),
      type: "error",
      code: "PROTOCOL_BINARY_FRAME",
    },
    { name: "a missing type", frame: "{}", type: "error", code: "PROTOCOL_MISSING_TYPE" },
    { name: "an unknown type", frame: '{"type":"foo"}', type: "error", code: "PROTOCOL_UNKNOWN_TYPE" },
    {
      name: "an unknown chat type",
      frame: '{"type":"chat.foo"}',
      type: "chat.error",
      code: "PROTOCOL_UNKNOWN_TYPE",
    },
    {
      name: "a missing field",
      frame: '{"type":"chat.send"}',
      type: "chat.error",
      code: "PROTOCOL_INVALID_FIELD",
    },
    {
      name: "an empty message",
      frame: '{"type":"chat.send","message":""}',
      type: "chat.error",
      code: "PROTOCOL_INVALID_FIELD",
    },
    {
      name: "a mistyped field",
      frame: '{"type":"subscribe","surfaceId":1}',
      type: "error",
      code: "PROTOCOL_INVALID_FIELD",
    },
  ];

  test("each class gets its error and the connection stays usable", async () => {
    const c = await connect();
    for (const k of cases) {
      c.socket.send(k.frame);
      const f = await c.next((x) => x.type === "error" || x.type === "chat.error", `the answer to ${k.name}`);
      expect({ name: k.name, type: f.type, code: "code" in f ? f.code : undefined }).toEqual({
        name: k.name,
        type: k.type,
        code: k.code,
      });
    }
    const unknown = c.frames.find((f) => f.type === "error" && f.code === "PROTOCOL_UNKNOWN_TYPE");
    expect(unknown).toMatchObject({ message: "Unknown message type: foo" });
    expect(await c.request({ type: "chat.send", message: "" }, "bad")).toMatchObject({
      type: "chat.error",
      replyTo: "bad",
      code: "PROTOCOL_INVALID_FIELD",
    });
    expect(await c.request({ type: "ping" }, "still-here")).toEqual({ type: "ack", replyTo: "still-here" });
    expect(c.frames.filter((f) => f.type === "pong").length).toBe(1);
    c.close();
  });
});

describe("inbound size limit", () => {
  test("an oversized frame closes that connection with 1009; others are unaffected", async () => {
    const big = await connect();
    const other = await connect();
    big.send({ type: "chat.send", message: "x".repeat(MAX_PAYLOAD + 1) });
    expect((await big.closed).code).toBe(1009);
    expect(await other.request({ type: "ping" }, "alive")).toEqual({ type: "ack", replyTo: "alive" });
    other.close();
  });
});

describe("slow consumers", () => {
  test("a client that stops reading is closed with 4008 while another keeps receiving", async () => {
    const cid = "conv-slow";
    const before = new Set(d.ws.connections().map((c) => c.id));
    const { status, client: raw } = await RawClient.upgrade(d.ws.port, {
      Host: `127.0.0.1:${d.ws.port}`,
      Authorization: `Bearer ${TEST_TOKEN}`,
    });
    expect(status).toBe(101);
    const rawId = d.ws.connections().find((c) => !before.has(c.id))?.id;
    expect(rawId).toBeDefined();
    raw.sendText(JSON.stringify({ type: "chat.subscribe", conversationId: cid }));
    raw.pause();

    const reader = await connect();
    await reader.request({ type: "chat.subscribe", conversationId: cid }, "watch");
    // Each turn carries ~2 MB per watcher (the prompt in user-message, then echoed): the kernel's
    // socket buffers fill up after a few turns, then Bun's, then the cap is passed.
    const prompt = "x".repeat(1_000_000);
    let turns = 0;
    while (!closed.some((c) => c.id === rawId) && turns < 30) {
      turns++;
      expect(
        await reader.request({ type: "chat.send", conversationId: cid, message: prompt }, `t${turns}`),
      ).toEqual({
        type: "ack",
        replyTo: `t${turns}`,
      });
      await reader.sealed(cid);
    }
    expect(closed.find((c) => c.id === rawId)).toEqual({
      id: rawId as number,
      code: 4008,
      reason: "slow consumer",
    });
    expect(d.ws.connections().some((c) => c.id === rawId)).toBe(false);

    // The reader saw every event of every turn, and keeps receiving after the slow one is gone.
    const ns = reader.deltas(cid).filter((f) => f.event.type === "turn-sealed");
    expect(ns.length).toBe(turns);
    await reader.request({ type: "chat.send", conversationId: cid, message: "after" }, "after");
    await reader.sealed(cid);
    expect(await raw.closeCode()).toBe(4008);
    reader.close();
  }, 30_000);
});

describe("rate limit", () => {
  test("a flood gets an error, then the connection is closed with 1008; every id is answered once", async () => {
    const strict = await startTestDaemon({ ws: { rateLimit: { burst: 5, perSecond: 1, maxStrikes: 10 } } });
    try {
      // Level 1 (no hello), so the whole burst is the test's.
      const c = await TestClient.connect(strict.url, { level: 1 });
      const ids = Array.from({ length: 40 }, (_, i) => `f${i}`);
      // Chat ops and others alike: a dropped chat op is answered with chat.error.
      for (const [i, id] of ids.entries())
        c.send(i % 2 === 0 ? { type: "ping", id } : { type: "chat.stop", conversationId: "flood", id });
      const end = await c.closed;
      expect(end.code).toBe(1008);

      const answers = c.frames.flatMap((f) => ("replyTo" in f && f.replyTo !== undefined ? [f] : []));
      const answered = answers.map((f) => f.replyTo);
      // Each frame before the one that closed the connection got exactly one answer, in order.
      expect(answered).toEqual(ids.slice(0, answered.length));
      expect(answered.length).toBeGreaterThanOrEqual(5 + 9);
      expect(answered.length).toBeLessThan(ids.length);
      const limited = answers.flatMap((f) => (f.type !== "ack" && f.code === "WS_RATE_LIMITED" ? [f] : []));
      expect(limited.length).toBeGreaterThanOrEqual(9);
      expect(limited[0]?.message).toContain("frames are being dropped");
      for (const f of limited) {
        const i = ids.indexOf(f.replyTo ?? "");
        expect(f.type).toBe(i % 2 === 0 ? "error" : "chat.error");
      }
    } finally {
      await strict.stop();
    }
  });

  test("without ids only the first dropped frame is answered", async () => {
    const strict = await startTestDaemon({ ws: { rateLimit: { burst: 5, perSecond: 1, maxStrikes: 10 } } });
    try {
      // Level 1 (no hello), so the whole burst is the test's.
      const c = await TestClient.connect(strict.url, { level: 1 });
      for (let i = 0; i < 40; i++) c.send({ type: "ping" });
      expect((await c.closed).code).toBe(1008);
      const limited = c.frames.flatMap((f) =>
        f.type === "error" && f.code === "WS_RATE_LIMITED" ? [f] : [],
      );
      expect(limited.length).toBe(1);
      expect(limited[0]?.message).toContain("rate limit");
      expect(c.frames.filter((f) => f.type === "pong").length).toBeLessThan(40);
    } finally {
      await strict.stop();
    }
  });
});

describe("byte budget", () => {
  test("big frames past the byte budget are dropped before they are parsed", async () => {
    const strict = await startTestDaemon({
      ws: { rateLimit: { burst: 100, perSecond: 1, maxStrikes: 50, bytesBurst: 50_000, bytesPerSecond: 1 } },
    });
    try {
      const c = await TestClient.connect(strict.url, { level: 1 });
      // Invalid JSON after a valid-looking prefix: parsed, it would be answered PROTOCOL_INVALID_JSON.
      const big = (id: string) => `{"type":"ping","id":"${id}","pad":"${"x".repeat(30_000)}"`;
      c.send(big("b1"));
      // (Invalid JSON has no id to answer with: the error carries no replyTo.)
      const first = await c.nextOf("error");
      expect(first).toMatchObject({ type: "error", code: "PROTOCOL_INVALID_JSON" });
      c.send(big("b2"));
      const second = await c.next((f) => "replyTo" in f && f.replyTo === "b2", "the answer to b2");
      expect(second).toMatchObject({ type: "error", code: "WS_RATE_LIMITED" });
      // Small frames still pass: the frame count has room and a ping costs a few bytes.
      expect(await c.request({ type: "ping" }, "small")).toEqual({ type: "ack", replyTo: "small" });
      c.close();
    } finally {
      await strict.stop();
    }
  });
});

describe("shutdown", () => {
  test(
    "closes every connection with 1001",
    async () => {
      const own = await startTestDaemon();
      const a = await TestClient.connect(own.url);
      const b = await TestClient.connect(own.url);
      await own.stop();
      const codes = await Promise.all([a.closed, b.closed].map((p) => p.then((c) => c.code)));
      expect(codes).toEqual([1001, 1001]);
    },
    WAIT_MS * 2,
  );
});
