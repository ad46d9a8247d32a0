import { afterAll, beforeAll, expect, test } from "bun:test";
import { createMemoryLogger, type MemoryLogger } from "@dispatch/kernel";
import { createSurfaceRegistry } from "@dispatch/surface-registry";
import { parseWsConfig } from "./config";
import { startWsServer, type WsServer } from "./server";
import { StubOrchestrator, TEST_TOKEN, TestClient } from "./test-support";

let server: WsServer;
const logger: MemoryLogger = createMemoryLogger();

/** Every operation fails unexpectedly, replay included (a bug somewhere behind the transport). */
const broken = new StubOrchestrator();
broken.replayed = () => {
  throw new Error("orchestrator exploded");
};

function start(port: number): WsServer {
  const parsed = parseWsConfig({ port });
  if (!parsed.ok) throw new Error(parsed.message);
  return startWsServer({
    config: parsed.config,
    token: TEST_TOKEN,
    registry: createSurfaceRegistry({ logger }),
    orchestrator: broken,
    logger,
    newConversationId: () => "minted",
    now: () => 0,
  });
}

beforeAll(() => {
  server = start(0);
});
afterAll(async () => {
  await server.close();
});

test("binds the configured host and reports the real port", () => {
  expect(server.hostname).toBe("127.0.0.1");
  expect(server.port).toBeGreaterThan(0);
  expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);
  expect(server.token).toBe(TEST_TOKEN);
});

test("an unexpected exception is logged with a code and answered with a generic error", async () => {
  const c = await TestClient.connect(server.url);
  await c.nextOf("catalog");
  expect(await c.request({ type: "chat.stop", conversationId: "c" }, "boom")).toEqual({
    type: "chat.error",
    message: "internal server error",
    replyTo: "boom",
    code: "WS_INTERNAL_ERROR",
  });
  c.send({ type: "chat.subscribe", conversationId: "c" });
  await c.nextOf("chat.error", (f) => f.replyTo === undefined);
  const logged = logger.records.filter((r) => r.fields.code === "WS_INTERNAL_ERROR");
  expect(logged.length).toBe(2);
  expect(String(logged[0]?.fields.error)).toContain("orchestrator exploded");
  expect(await c.request({ type: "ping" }, "alive")).toEqual({ type: "ack", replyTo: "alive" });
  c.close();
});

test("a second server on the same port fails with WS_LISTEN_FAILED naming it", () => {
  expect(() => start(server.port)).toThrow(expect.objectContaining({ code: "WS_LISTEN_FAILED" }));
});

test("config is validated: unknown keys and bad values are named", () => {
  const bad = parseWsConfig({ port: 70000, prot: 1 });
  expect(bad.ok).toBe(false);
  if (!bad.ok) {
    expect(bad.message).toContain("port");
    expect(bad.message).toContain("prot");
  }
  const ok = parseWsConfig(undefined);
  expect(ok.ok && ok.config.port).toBe(24205);
  expect(ok.ok && ok.config.host).toBe("127.0.0.1");
});
