import { expect, test } from "bun:test";
import type { AgentEvent } from "@dispatch/protocol/types";
import { belongsToTurn, endsTurn } from "./ndjson";
import { ownOrigins } from "./server";

const c = "conv-1";

test("a turn's stream carries its own events and status, and ends at its turn-sealed", () => {
  const own: AgentEvent = { type: "text-delta", conversationId: c, turnId: "t1", delta: "hi" };
  const other: AgentEvent = { type: "text-delta", conversationId: c, turnId: "t2", delta: "x" };
  const status: AgentEvent = { type: "status", conversationId: c, status: "active" };
  const sealed: AgentEvent = { type: "turn-sealed", conversationId: c, turnId: "t1" };
  const otherSealed: AgentEvent = { type: "turn-sealed", conversationId: c, turnId: "t2" };
  expect([own, other, status].map((e) => belongsToTurn(e, "t1"))).toEqual([true, false, true]);
  expect([own, sealed, otherSealed].map((e) => endsTurn(e, "t1"))).toEqual([false, true, false]);
});

test("ownOrigins names the daemon's own HTTP origin under loopback names", () => {
  expect(ownOrigins("127.0.0.1", 24203)).toEqual(["http://127.0.0.1:24203", "http://localhost:24203"]);
  expect(ownOrigins("::1", 5)).toContain("http://[::1]:5");
});
