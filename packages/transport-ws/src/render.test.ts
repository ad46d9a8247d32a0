import { describe, expect, test } from "bun:test";
import { decide, type OperationsView, OWNER, type Reply } from "@dispatch/operations";
import { parseClientMessage } from "@dispatch/protocol";
import type { SurfaceSpec } from "@dispatch/protocol/types";
import { parseFailureFrame, repliesFrames, replyFrames } from "./render";
import { TURN_RUNNING_MESSAGE } from "./replies";

const spec: SurfaceSpec = { id: "message-queue", region: "sidebar", title: "Queue", fields: [] };
const error = { code: "SURFACE_ACTION_FAILED", message: 'action "x" failed' };
const target = (conversationId?: string) =>
  conversationId === undefined
    ? { surfaceId: "g", scope: "global" as const, key: "k" }
    : { surfaceId: "message-queue", scope: "conversation" as const, conversationId, key: "k" };

describe("core replies → frames", () => {
  test("a subscribed spec is `surface` (with its conversation); the ack only with an id", () => {
    expect(replyFrames({ kind: "surface", target: target("c1"), spec })).toEqual([
      { type: "surface", spec, conversationId: "c1" },
    ]);
    expect(replyFrames({ kind: "surface", target: target(), spec })).toEqual([{ type: "surface", spec }]);
    expect(replyFrames({ kind: "done", op: "subscribe", replyTo: "s" })).toEqual([
      { type: "ack", replyTo: "s" },
    ]);
    expect(replyFrames({ kind: "done", op: "invoke" })).toEqual([]);
  });

  test("a surface failure is one `error` naming the surface", () => {
    expect(replyFrames({ kind: "failed", family: "surface", error, surfaceId: "g", replyTo: "s" })).toEqual([
      {
        type: "error",
        surfaceId: "g",
        message: 'action "x" failed',
        replyTo: "s",
        code: "SURFACE_ACTION_FAILED",
      },
    ]);
  });

  test("a chat failure is chat.error naming the conversation; a running turn gets the compat text", () => {
    const running: Reply = {
      kind: "failed",
      family: "chat",
      error: { code: "ORCH_TURN_RUNNING", message: "busy" },
      conversationId: "c1",
    };
    expect(replyFrames(running)).toEqual([
      { type: "chat.error", conversationId: "c1", message: TURN_RUNNING_MESSAGE, code: "ORCH_TURN_RUNNING" },
    ]);
    const unknown: Reply = {
      kind: "failed",
      family: "chat",
      error: { code: "ORCH_UNKNOWN_MODEL", message: "no model x" },
      conversationId: "c1",
      replyTo: "a",
    };
    expect(replyFrames(unknown)).toEqual([
      {
        type: "chat.error",
        conversationId: "c1",
        message: "no model x",
        replyTo: "a",
        code: "ORCH_UNKNOWN_MODEL",
      },
    ]);
  });

  test("ping and hello on the wire", () => {
    const view: OperationsView = {
      surfaceScope: () => undefined,
      newConversationId: () => "x",
      server: { name: "dispatch", version: "9.9.9" },
    };
    const caller = {
      role: OWNER,
      level: 1,
      authenticated: true,
      connected: true,
      greeted: false,
      spoken: false,
      surfaces: new Set<string>(),
      conversations: new Set<string>(),
      channels: new Set<string>(),
    } as const;
    expect(repliesFrames(decide({ type: "ping", id: "1" }, caller, view).replies)).toEqual([
      { type: "pong" },
      { type: "ack", replyTo: "1" },
    ]);
    const hello = repliesFrames(decide({ type: "hello", protocol: 2, id: "h" }, caller, view).replies);
    expect(hello[0]).toMatchObject({
      type: "hello",
      protocol: 2,
      server: { name: "dispatch", version: "9.9.9" },
    });
    expect((hello[0] as { features: string[] }).features).toContain("resume");
    expect(hello[1]).toEqual({ type: "ack", replyTo: "h" });
  });
});

describe("every validation failure class, through the real parser", () => {
  const cases: {
    name: string;
    raw: string | Uint8Array;
    code: string;
    type: "error" | "chat.error";
    replyTo?: string;
  }[] = [
    { name: "invalid JSON", raw: "{nope", code: "PROTOCOL_INVALID_JSON", type: "error" },
    { name: "a non-object", raw: "[1,2]", code: "PROTOCOL_NOT_AN_OBJECT", type: "error" },
    { name: "a binary frame", raw: new Uint8Array([1, 2, 3]), code: "PROTOCOL_BINARY_FRAME", type: "error" },
    { name: "a missing type", raw: '{"id":"m"}', code: "PROTOCOL_MISSING_TYPE", type: "error", replyTo: "m" },
    {
      name: "an unknown type",
      raw: '{"type":"foo","id":"u"}',
      code: "PROTOCOL_UNKNOWN_TYPE",
      type: "error",
      replyTo: "u",
    },
    {
      name: "an unknown chat type",
      raw: '{"type":"chat.foo"}',
      code: "PROTOCOL_UNKNOWN_TYPE",
      type: "chat.error",
    },
    {
      name: "a missing field",
      raw: '{"type":"chat.send","id":"s"}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "chat.error",
      replyTo: "s",
    },
    {
      name: "a mistyped field",
      raw: '{"type":"subscribe","surfaceId":7}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "error",
    },
    {
      name: "an empty chat message",
      raw: '{"type":"chat.send","message":""}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "chat.error",
    },
    {
      name: "a bad reasoningEffort",
      raw: '{"type":"chat.send","message":"hi","reasoningEffort":"extreme"}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "chat.error",
    },
    {
      name: "a bad decision",
      raw: '{"type":"chat.permission","conversationId":"c","requestId":"r","decision":"maybe","id":"p"}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "chat.error",
      replyTo: "p",
    },
    {
      name: "an oversized field",
      raw: JSON.stringify({ type: "subscribe", surfaceId: "x".repeat(10_000) }),
      code: "PROTOCOL_TOO_LARGE",
      type: "error",
    },
    {
      name: "a hello without protocol",
      raw: '{"type":"hello"}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "error",
    },
    {
      name: "a string protocol",
      raw: '{"type":"hello","protocol":"2"}',
      code: "PROTOCOL_INVALID_FIELD",
      type: "error",
    },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.type} ${c.code}${c.replyTo ? " with replyTo" : ""}`, () => {
      const parsed = parseClientMessage(c.raw);
      expect(parsed.ok).toBe(false);
      if (parsed.ok) return;
      const frame = parseFailureFrame(parsed) as {
        type: string;
        code?: string;
        replyTo?: string;
        message: string;
      };
      expect(frame.type).toBe(c.type);
      expect(frame.code).toBe(c.code);
      expect(frame.replyTo).toBe(c.replyTo);
      expect(frame.message.length).toBeGreaterThan(0);
    });
  }

  test("the unknown type is named in the message", () => {
    const parsed = parseClientMessage('{"type":"foo"}');
    expect(!parsed.ok && (parseFailureFrame(parsed) as { message: string }).message).toBe(
      "Unknown message type: foo",
    );
  });
});
