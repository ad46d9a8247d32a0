/** `compression` ("off" | "remote" | "all"): who gets permessage-deflate, and frames arrive intact. */
import { describe, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import { createSurfaceRegistry } from "@dispatch/surface-registry";
import { parseWsConfig } from "./config";
import { startWsServer } from "./server";
import { StubOrchestrator, TestClient } from "./test-support";
import { deflateFor } from "./upgrade";

const TOKEN = "compression-token-0123456789";

test("deflateFor: remote means every peer but loopback", () => {
  expect(
    ["127.0.0.1", "::1", "10.0.0.2", "192.168.1.5", undefined].map((a) => deflateFor("remote", a)),
  ).toEqual([false, false, true, true, true]);
  expect(deflateFor("all", "127.0.0.1")).toBe(true);
  expect(deflateFor("off", "10.0.0.2")).toBe(false);
});

describe("negotiation over a real socket (a loopback client)", () => {
  for (const [mode, negotiated] of [
    ["off", false],
    ["remote", false],
    ["all", true],
  ] as const) {
    test(`${mode}: deflate ${negotiated ? "negotiated" : "not negotiated"}; a large delta arrives intact`, async () => {
      const parsed = parseWsConfig({ port: 0, token: TOKEN, compression: mode });
      if (!parsed.ok) throw new Error(parsed.message);
      const orchestrator = new StubOrchestrator();
      const server = startWsServer({
        config: parsed.config,
        token: TOKEN,
        registry: createSurfaceRegistry({ logger: silentLogger }),
        orchestrator,
        logger: silentLogger,
        newConversationId: () => "x",
        now: () => performance.now(),
      });
      try {
        const c = await TestClient.connect(server.url, { token: TOKEN });
        expect(c.socket.extensions.includes("permessage-deflate")).toBe(negotiated);
        await c.request({ type: "chat.subscribe", conversationId: "z" }, "s");
        const delta = "the quick brown fox jumps over the lazy dog ".repeat(2000);
        const event: AgentEvent = { type: "text-delta", conversationId: "z", turnId: "t", delta };
        orchestrator.emit("z", event, 1);
        const got = await c.nextOf("chat.delta");
        expect(got.event).toEqual(event);
        c.close();
      } finally {
        await server.close();
      }
    });
  }
});

test("an unknown compression mode is a config error naming the field", () => {
  const r = parseWsConfig({ compression: "sometimes" });
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.message).toContain("compression");
});
