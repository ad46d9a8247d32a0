import { describe, expect, test } from "bun:test";
import type { AgentEvent, SurfaceSpec } from "@dispatch/protocol/types";
import { deltaFrame, glanceAtFrame, internalErrorFrame, rateLimitedReplies, updateFrame } from "./replies";

const spec: SurfaceSpec = { id: "message-queue", region: "sidebar", title: "Queue", fields: [] };

describe("frames", () => {
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
