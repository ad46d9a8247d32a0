import { describe, expect, test } from "bun:test";
import type { AgentEvent, SurfaceSpec } from "@dispatch/protocol/types";
import {
  chatReplies,
  deltaFrame,
  glanceAtFrame,
  internalErrorFrame,
  invokeReplies,
  rateLimitedReplies,
  specReplies,
  TURN_RUNNING_MESSAGE,
  updateFrame,
} from "./replies";

const spec: SurfaceSpec = { id: "message-queue", region: "sidebar", title: "Queue", fields: [] };
const fail = { ok: false as const, error: { code: "SURFACE_ACTION_FAILED", message: 'action "x" failed' } };

describe("result → reply mappings", () => {
  test("specReplies: surface then ack, or one error with surfaceId and replyTo", () => {
    expect(
      specReplies({ surfaceId: "message-queue", conversationId: "c1" }, { ok: true, value: spec }, "s"),
    ).toEqual([
      { type: "surface", spec, conversationId: "c1" },
      { type: "ack", replyTo: "s" },
    ]);
    expect(specReplies({ surfaceId: "g" }, { ok: true, value: spec })).toEqual([{ type: "surface", spec }]);
    expect(specReplies({ surfaceId: "g" }, fail, "s")).toEqual([
      {
        type: "error",
        surfaceId: "g",
        message: 'action "x" failed',
        replyTo: "s",
        code: "SURFACE_ACTION_FAILED",
      },
    ]);
  });

  test("invokeReplies: ack only with an id; a failure is always reported", () => {
    expect(invokeReplies("g", { ok: true, value: undefined })).toEqual([]);
    expect(invokeReplies("g", { ok: true, value: undefined }, "i")).toEqual([{ type: "ack", replyTo: "i" }]);
    expect(invokeReplies("g", fail)).toEqual([
      { type: "error", surfaceId: "g", message: 'action "x" failed', code: "SURFACE_ACTION_FAILED" },
    ]);
  });

  test("chatReplies: chat.error names the conversation; a running turn gets the compat message", () => {
    expect(chatReplies("c1", { ok: true, value: {} }, "a")).toEqual([{ type: "ack", replyTo: "a" }]);
    expect(chatReplies("c1", { ok: false, error: { code: "ORCH_TURN_RUNNING", message: "busy" } })).toEqual([
      { type: "chat.error", conversationId: "c1", message: TURN_RUNNING_MESSAGE, code: "ORCH_TURN_RUNNING" },
    ]);
    expect(
      chatReplies("c1", { ok: false, error: { code: "ORCH_UNKNOWN_MODEL", message: "no model x" } }, "a"),
    ).toEqual([
      {
        type: "chat.error",
        conversationId: "c1",
        message: "no model x",
        replyTo: "a",
        code: "ORCH_UNKNOWN_MODEL",
      },
    ]);
  });

  test("frames omit absent fields", () => {
    const event: AgentEvent = { type: "status", conversationId: "c1", status: "idle" };
    expect(deltaFrame(event, undefined)).toEqual({ type: "chat.delta", event });
    expect("n" in deltaFrame(event, undefined)).toBe(false);
    expect(updateFrame({ surfaceId: "g" }, spec)).toEqual({
      type: "update",
      update: { surfaceId: "g", spec },
    });
    expect(internalErrorFrame(true)).toEqual({
      type: "chat.error",
      message: "internal server error",
      code: "WS_INTERNAL_ERROR",
    });
    expect(internalErrorFrame(false, "q")).toMatchObject({ type: "error", replyTo: "q" });
  });
});

describe("frames dropped by the rate limit", () => {
  test("glanceAtFrame reads id and chat-ness without validating", () => {
    expect(glanceAtFrame('{"type":"chat.send","id":"a"}')).toEqual({ id: "a", isChat: true });
    expect(glanceAtFrame('{"type":"ping","id":"b","junk":1}')).toEqual({ id: "b", isChat: false });
    expect(glanceAtFrame('{"type":"chat.stop","id":7}')).toEqual({ isChat: true });
    for (const bad of ["{nope", "42", "null", '"s"']) expect(glanceAtFrame(bad)).toEqual({ isChat: false });
    expect(glanceAtFrame(new Uint8Array([123, 125]))).toEqual({ isChat: false });
  });

  test("a long frame is only scanned, never parsed; an over-long id is not echoed", () => {
    const pad = "x".repeat(1024 * 1024);
    // Unterminated JSON: a parse would fail; the prefix scan still finds id and type.
    expect(glanceAtFrame(`{"type":"chat.send","id":"big-1","message":"${pad}`)).toEqual({
      id: "big-1",
      isChat: true,
    });
    expect(glanceAtFrame(`{"message":"${pad}","id":"late"}`)).toEqual({ isChat: false });
    expect(glanceAtFrame(`{"type":"ping","id":"${"i".repeat(5000)}"}`)).toEqual({ isChat: false });
    expect(glanceAtFrame(`{"type":"ping","id":"${"i".repeat(201)}"}`)).toEqual({ isChat: false });
  });

  test("warn is always answered; a later drop only when it carried an id", () => {
    expect(rateLimitedReplies("warn", { isChat: false }, 100)).toEqual([
      {
        type: "error",
        message: "rate limit exceeded (100 frames/s); frames are being dropped",
        code: "WS_RATE_LIMITED",
      },
    ]);
    expect(rateLimitedReplies("drop", { isChat: false }, 100)).toEqual([]);
    expect(rateLimitedReplies("drop", { id: "x", isChat: true }, 100)).toEqual([
      {
        type: "chat.error",
        message: "rate limit exceeded (100 frames/s); this frame was dropped",
        replyTo: "x",
        code: "WS_RATE_LIMITED",
      },
    ]);
    expect(rateLimitedReplies("warn", { id: "y", isChat: false }, 5)).toMatchObject([
      { type: "error", replyTo: "y", code: "WS_RATE_LIMITED" },
    ]);
  });
});
