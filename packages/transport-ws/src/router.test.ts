import { describe, expect, test } from "bun:test";
import { parseClientMessage } from "@dispatch/protocol";
import type { ClientMessage, ParseClientMessageResult, SurfaceScope } from "@dispatch/protocol/types";
import {
  type ConnectionState,
  type RouteOutcome,
  type RouterView,
  routeClientMessage,
  routeMessage,
  surfaceKey,
} from "./router";

class FakeView implements RouterView {
  minted = 0;
  server = { name: "dispatch", version: "9.9.9" };
  constructor(private readonly scopes: Record<string, SurfaceScope> = {}) {}
  surfaceScope(surfaceId: string): SurfaceScope | undefined {
    return this.scopes[surfaceId];
  }
  newConversationId(): string {
    this.minted++;
    return `minted-${this.minted}`;
  }
}

const view = () => new FakeView({ "loaded-extensions": "global", "message-queue": "conversation" });
const fresh = { level: 1, greeted: false, spoken: false } as const;
const empty: ConnectionState = { surfaces: new Set(), conversations: new Set(), ...fresh };

function route(msg: ClientMessage, state: ConnectionState = empty, v: RouterView = view()): RouteOutcome {
  return routeClientMessage(v, state, { ok: true, message: msg });
}

describe("ping", () => {
  test("→ pong; with id also an ack", () => {
    expect(route({ type: "ping" })).toEqual({ kind: "reply", frames: [{ type: "pong" }] });
    expect(route({ type: "ping", id: "p1" })).toEqual({
      kind: "reply",
      frames: [{ type: "pong" }, { type: "ack", replyTo: "p1" }],
    });
  });
});

describe("surface subscribe / unsubscribe / invoke", () => {
  test("subscribe to a global surface ignores conversationId", () => {
    const a = route({ type: "subscribe", surfaceId: "loaded-extensions" });
    const b = route({ type: "subscribe", surfaceId: "loaded-extensions", conversationId: "c1", id: "s1" });
    expect(a).toEqual({
      kind: "surface.subscribe",
      target: {
        surfaceId: "loaded-extensions",
        scope: "global",
        key: surfaceKey("loaded-extensions", undefined),
      },
      added: true,
    });
    expect(b).toEqual({
      kind: "surface.subscribe",
      target: {
        surfaceId: "loaded-extensions",
        scope: "global",
        key: surfaceKey("loaded-extensions", undefined),
      },
      added: true,
      replyTo: "s1",
    });
  });

  test("subscribe to a conversation-scoped surface keys by conversation", () => {
    const o = route({ type: "subscribe", surfaceId: "message-queue", conversationId: "c1" });
    expect(o).toEqual({
      kind: "surface.subscribe",
      target: {
        surfaceId: "message-queue",
        scope: "conversation",
        conversationId: "c1",
        key: surfaceKey("message-queue", "c1"),
      },
      added: true,
    });
    const other = route({ type: "subscribe", surfaceId: "message-queue", conversationId: "c2" });
    expect(other.kind === "surface.subscribe" && other.target.key).not.toBe(
      surfaceKey("message-queue", "c1"),
    );
  });

  test("subscribe is idempotent: a repeat is not added again (the spec is re-sent)", () => {
    const state: ConnectionState = {
      surfaces: new Set([surfaceKey("message-queue", "c1")]),
      conversations: new Set(),
      ...fresh,
    };
    const o = route({ type: "subscribe", surfaceId: "message-queue", conversationId: "c1", id: "x" }, state);
    expect(o.kind === "surface.subscribe" && o.added).toBe(false);
    expect(o.kind === "surface.subscribe" && o.replyTo).toBe("x");
  });

  test("subscribe/invoke on an unknown surface is an error naming it", () => {
    for (const msg of [
      { type: "subscribe", surfaceId: "nope", id: "a" },
      { type: "invoke", surfaceId: "nope", actionId: "go", id: "a" },
    ] as ClientMessage[]) {
      const o = route(msg);
      expect(o.kind).toBe("reject");
      if (o.kind === "reject") {
        expect(o.code).toBe("WS_UNKNOWN_SURFACE");
        expect(o.frame).toMatchObject({
          type: "error",
          surfaceId: "nope",
          replyTo: "a",
          code: "WS_UNKNOWN_SURFACE",
        });
        expect(o.frame.message).toContain('"nope"');
      }
    }
  });

  test("unsubscribe is idempotent: not subscribed → only an ack (or nothing)", () => {
    expect(route({ type: "unsubscribe", surfaceId: "message-queue", conversationId: "c1" })).toEqual({
      kind: "reply",
      frames: [],
    });
    expect(route({ type: "unsubscribe", surfaceId: "message-queue", conversationId: "c1", id: "u" })).toEqual(
      {
        kind: "reply",
        frames: [{ type: "ack", replyTo: "u" }],
      },
    );
  });

  test("unsubscribe of a held subscription", () => {
    const state: ConnectionState = {
      surfaces: new Set([surfaceKey("loaded-extensions", undefined)]),
      conversations: new Set(),
      ...fresh,
    };
    const o = route(
      { type: "unsubscribe", surfaceId: "loaded-extensions", conversationId: "c9", id: "u" },
      state,
    );
    expect(o).toEqual({
      kind: "surface.unsubscribe",
      target: {
        surfaceId: "loaded-extensions",
        scope: "global",
        key: surfaceKey("loaded-extensions", undefined),
      },
      replyTo: "u",
    });
  });

  test("unsubscribe still cleans up a surface that has disappeared from the catalog", () => {
    const gone = new FakeView({});
    const state: ConnectionState = {
      surfaces: new Set([surfaceKey("old", "c1"), surfaceKey("old-global", undefined)]),
      conversations: new Set(),
      ...fresh,
    };
    const a = route({ type: "unsubscribe", surfaceId: "old", conversationId: "c1" }, state, gone);
    expect(a.kind === "surface.unsubscribe" && a.target.key).toBe(surfaceKey("old", "c1"));
    const b = route({ type: "unsubscribe", surfaceId: "old-global", conversationId: "c1" }, state, gone);
    expect(b.kind === "surface.unsubscribe" && b.target.key).toBe(surfaceKey("old-global", undefined));
  });

  test("invoke passes action, payload and conversation through", () => {
    expect(
      route({
        type: "invoke",
        surfaceId: "message-queue",
        actionId: "cancel:m1",
        payload: { a: 1 },
        conversationId: "c1",
      }),
    ).toEqual({
      kind: "surface.invoke",
      surfaceId: "message-queue",
      actionId: "cancel:m1",
      payload: { a: 1 },
      conversationId: "c1",
    });
    const o = route({ type: "invoke", surfaceId: "loaded-extensions", actionId: "x", id: "i" });
    expect(o).toEqual({
      kind: "surface.invoke",
      surfaceId: "loaded-extensions",
      actionId: "x",
      payload: undefined,
      replyTo: "i",
    });
  });
});

describe("chat ops", () => {
  test("chat.send without conversationId mints one", () => {
    const v = view();
    const o = route({ type: "chat.send", message: "hi" }, empty, v);
    expect(o).toEqual({
      kind: "chat.send",
      turn: { conversationId: "minted-1", message: "hi" },
      minted: true,
    });
  });

  test("chat.send keeps every setting and drops computerId", () => {
    const o = route({
      type: "chat.send",
      id: "s",
      conversationId: "c1",
      message: "hi",
      model: "local/echo",
      cwd: "/tmp",
      reasoningEffort: "high",
      workspaceId: "w",
      computerId: "laptop",
      images: [{ url: "data:image/png;base64,AA==", mimeType: "image/png" }],
    });
    expect(o).toEqual({
      kind: "chat.send",
      minted: false,
      replyTo: "s",
      turn: {
        conversationId: "c1",
        message: "hi",
        model: "local/echo",
        cwd: "/tmp",
        reasoningEffort: "high",
        workspaceId: "w",
        images: [{ url: "data:image/png;base64,AA==", mimeType: "image/png" }],
      },
    });
  });

  test("chat.subscribe with and without resume; idempotent per connection", () => {
    expect(route({ type: "chat.subscribe", conversationId: "c1" })).toEqual({
      kind: "chat.subscribe",
      conversationId: "c1",
    });
    expect(
      route({ type: "chat.subscribe", conversationId: "c1", resume: { turnId: "t", n: 4 }, id: "r" }),
    ).toEqual({
      kind: "chat.subscribe",
      conversationId: "c1",
      resume: { turnId: "t", n: 4 },
      replyTo: "r",
    });
    const state: ConnectionState = { surfaces: new Set(), conversations: new Set(["c1"]), ...fresh };
    expect(route({ type: "chat.subscribe", conversationId: "c1", id: "again" }, state)).toEqual({
      kind: "reply",
      frames: [{ type: "ack", replyTo: "again" }],
    });
  });

  test("chat.unsubscribe: idempotent", () => {
    const state: ConnectionState = { surfaces: new Set(), conversations: new Set(["c1"]), ...fresh };
    expect(route({ type: "chat.unsubscribe", conversationId: "c1" }, state)).toEqual({
      kind: "chat.unsubscribe",
      conversationId: "c1",
    });
    expect(route({ type: "chat.unsubscribe", conversationId: "c1" })).toEqual({ kind: "reply", frames: [] });
  });

  test("chat.queue, chat.queue.cancel, chat.stop, chat.permission", () => {
    expect(
      route({ type: "chat.queue", conversationId: "c1", text: "more", workspaceId: "w", id: "q" }),
    ).toEqual({
      kind: "chat.queue",
      conversationId: "c1",
      text: "more",
      workspaceId: "w",
      replyTo: "q",
    });
    expect(route({ type: "chat.queue", conversationId: "c1", text: "more" })).toEqual({
      kind: "chat.queue",
      conversationId: "c1",
      text: "more",
    });
    expect(route({ type: "chat.queue.cancel", conversationId: "c1", messageId: "m" })).toEqual({
      kind: "chat.queue.cancel",
      conversationId: "c1",
      messageId: "m",
    });
    expect(route({ type: "chat.stop", conversationId: "c1", id: "st" })).toEqual({
      kind: "chat.stop",
      conversationId: "c1",
      replyTo: "st",
    });
    expect(
      route({ type: "chat.permission", conversationId: "c1", requestId: "r", decision: "always" }),
    ).toEqual({
      kind: "chat.permission",
      conversationId: "c1",
      requestId: "r",
      decision: "always",
    });
  });
});

describe("parse failures and unknown types", () => {
  const failure = (isChat: boolean, replyToId?: string): ParseClientMessageResult => ({
    ok: false,
    error: {
      code: "PROTOCOL_INVALID_FIELD",
      message: "chat.send: message must be a non-empty string",
      isChat,
      ...(replyToId === undefined ? {} : { replyToId }),
    },
  });

  test("chat failures answer chat.error, others error; replyTo echoes the id", () => {
    expect(routeClientMessage(view(), empty, failure(true, "m1"))).toEqual({
      kind: "reject",
      code: "PROTOCOL_INVALID_FIELD",
      frame: {
        type: "chat.error",
        message: "chat.send: message must be a non-empty string",
        replyTo: "m1",
        code: "PROTOCOL_INVALID_FIELD",
      },
    });
    const o = routeClientMessage(view(), empty, failure(false));
    expect(o.kind === "reject" && o.frame).toEqual({
      type: "error",
      message: "chat.send: message must be a non-empty string",
      code: "PROTOCOL_INVALID_FIELD",
    });
  });

  test("a type the switch does not know is an error outcome, not a throw", () => {
    const rogue = { type: "surprise", id: "z" } as unknown as ClientMessage;
    expect(routeMessage(view(), empty, rogue)).toEqual({
      kind: "reject",
      code: "PROTOCOL_UNKNOWN_TYPE",
      frame: {
        type: "error",
        message: "Unknown message type: surprise",
        replyTo: "z",
        code: "PROTOCOL_UNKNOWN_TYPE",
      },
    });
    const chatRogue = { type: "chat.surprise" } as unknown as ClientMessage;
    const o = routeMessage(view(), empty, chatRogue);
    expect(o.kind === "reject" && o.frame.type).toBe("chat.error");
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
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.type} ${c.code}${c.replyTo ? " with replyTo" : ""}`, () => {
      const o = routeClientMessage(view(), empty, parseClientMessage(c.raw));
      expect(o.kind).toBe("reject");
      if (o.kind !== "reject") return;
      expect(o.code).toBe(c.code);
      expect(o.frame.type).toBe(c.type);
      expect(o.frame.code).toBe(c.code);
      expect(o.frame.replyTo).toBe(c.replyTo);
      expect(o.frame.message.length).toBeGreaterThan(0);
    });
  }

  test("the unknown type is named in the message", () => {
    const o = routeClientMessage(view(), empty, parseClientMessage('{"type":"foo"}'));
    expect(o.kind === "reject" && o.frame.message).toBe("Unknown message type: foo");
  });

  test("a valid frame routes", () => {
    expect(routeClientMessage(view(), empty, parseClientMessage('{"type":"ping","id":"1"}'))).toEqual({
      kind: "reply",
      frames: [{ type: "pong" }, { type: "ack", replyTo: "1" }],
    });
  });
});

describe("hello", () => {
  const hello = (protocol: number, id?: string): ClientMessage =>
    id === undefined ? { type: "hello", protocol } : { type: "hello", protocol, id };

  test("protocol 2 as the first message → the level and the hello reply (plus the ack with an id)", () => {
    const o = route(hello(2, "h1"));
    expect(o.kind).toBe("hello");
    if (o.kind !== "hello") return;
    expect(o.level).toBe(2);
    expect(o.frames[0]).toMatchObject({
      type: "hello",
      protocol: 2,
      server: { name: "dispatch", version: "9.9.9" },
    });
    expect((o.frames[0] as { features: string[] }).features).toContain("resume");
    expect(o.frames[1]).toEqual({ type: "ack", replyTo: "h1" });
  });

  test("an unknown level, a second hello and a late hello are refused with their codes", () => {
    for (const p of [0, 3, 99]) {
      const o = route(hello(p, "h"));
      expect(o).toMatchObject({
        kind: "reject",
        code: "WS_UNSUPPORTED_PROTOCOL",
        frame: { type: "error", replyTo: "h" },
      });
      if (o.kind === "reject") expect(o.frame.message).toContain(`protocol ${p} is not supported`);
    }
    const again = route(hello(2), { ...empty, level: 2, greeted: true });
    expect(again).toMatchObject({ kind: "reject", code: "WS_HELLO_REPEATED" });
    const late = route(hello(2), { ...empty, spoken: true });
    expect(late).toMatchObject({ kind: "reject", code: "WS_HELLO_LATE" });
  });

  test("garbage hellos are parse errors answered with `error`, never a level change", () => {
    for (const raw of [
      '{"type":"hello"}',
      '{"type":"hello","protocol":"2"}',
      '{"type":"hello","protocol":2.5}',
    ]) {
      const o = routeClientMessage(view(), empty, parseClientMessage(raw));
      expect(o).toMatchObject({ kind: "reject", frame: { type: "error" } });
    }
  });
});
