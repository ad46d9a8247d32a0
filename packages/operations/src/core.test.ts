import { describe, expect, test } from "bun:test";
import type { SurfaceScope } from "@dispatch/protocol/types";
import {
  type Caller,
  type Command,
  type Decision,
  type OperationsView,
  OWNER,
  type SurfaceTarget,
} from "./contract";
import { decide, surfaceKey } from "./core";

class FakeView implements OperationsView {
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
const fresh = {
  role: OWNER,
  level: 1,
  greeted: false,
  spoken: false,
  authenticated: true,
  connected: true,
} as const;
const empty: Caller = { surfaces: new Set(), conversations: new Set(), channels: new Set(), ...fresh };
const withSurfaces = (...keys: string[]): Caller => ({ ...empty, surfaces: new Set(keys) });
const watching = (...ids: string[]): Caller => ({ ...empty, conversations: new Set(ids) });
/** An HTTP caller: no connection, holds the token. */
const http: Caller = { ...empty, connected: false };

const d = (msg: Command, caller: Caller = empty, v: OperationsView = view()): Decision =>
  decide(msg, caller, v);
const globalTarget: SurfaceTarget = {
  surfaceId: "loaded-extensions",
  scope: "global",
  key: surfaceKey("loaded-extensions", undefined),
};
const queueTarget = (c: string): SurfaceTarget => ({
  surfaceId: "message-queue",
  scope: "conversation",
  conversationId: c,
  key: surfaceKey("message-queue", c),
});

describe("ping", () => {
  test("→ pong; with id also done", () => {
    expect(d({ type: "ping" })).toEqual({ replies: [{ kind: "pong" }], effects: [] });
    expect(d({ type: "ping", id: "p1" }).replies).toEqual([
      { kind: "pong" },
      { kind: "done", op: "ping", replyTo: "p1" },
    ]);
  });
});

describe("surface subscribe / unsubscribe / invoke", () => {
  test("a new subscription is added, then its spec fetched with the rollback as its failure follow-up", () => {
    expect(d({ type: "subscribe", surfaceId: "loaded-extensions", conversationId: "c1", id: "s1" })).toEqual({
      replies: [],
      effects: [
        { kind: "surface.add", target: globalTarget },
        {
          kind: "surface.spec",
          target: globalTarget,
          replyTo: "s1",
          otherwise: [{ kind: "surface.remove", key: globalTarget.key }],
        },
      ],
    });
    const o = d({ type: "subscribe", surfaceId: "message-queue", conversationId: "c1" });
    expect(o.effects[0]).toEqual({ kind: "surface.add", target: queueTarget("c1") });
  });

  test("a repeat is not added again and never rolled back (the spec is re-sent)", () => {
    const o = d(
      { type: "subscribe", surfaceId: "message-queue", conversationId: "c1", id: "x" },
      withSurfaces(surfaceKey("message-queue", "c1")),
    );
    expect(o.effects).toEqual([
      { kind: "surface.spec", target: queueTarget("c1"), replyTo: "x", otherwise: [] },
    ]);
  });

  test("subscribe/invoke on an unknown surface is refused naming it", () => {
    for (const msg of [
      { type: "subscribe", surfaceId: "nope", id: "a" },
      { type: "invoke", surfaceId: "nope", actionId: "go", id: "a" },
    ] as Command[]) {
      const o = d(msg);
      expect(o.effects).toEqual([]);
      expect(o.replies).toHaveLength(1);
      expect(o.replies[0]).toMatchObject({
        kind: "failed",
        family: "surface",
        surfaceId: "nope",
        replyTo: "a",
        error: { code: "WS_UNKNOWN_SURFACE" },
      });
      const r = o.replies[0];
      if (r?.kind === "failed") expect(r.error.message).toContain('"nope"');
    }
  });

  test("unsubscribe is idempotent; a held one is removed", () => {
    expect(d({ type: "unsubscribe", surfaceId: "message-queue", conversationId: "c1" })).toEqual({
      replies: [{ kind: "done", op: "unsubscribe" }],
      effects: [],
    });
    const o = d(
      { type: "unsubscribe", surfaceId: "loaded-extensions", conversationId: "c9", id: "u" },
      withSurfaces(globalTarget.key),
    );
    expect(o).toEqual({
      replies: [{ kind: "done", op: "unsubscribe", replyTo: "u" }],
      effects: [{ kind: "surface.remove", key: globalTarget.key }],
    });
  });

  test("unsubscribe still cleans up a surface that has disappeared from the catalog", () => {
    const gone = new FakeView({});
    const caller = withSurfaces(surfaceKey("old", "c1"), surfaceKey("old-global", undefined));
    expect(d({ type: "unsubscribe", surfaceId: "old", conversationId: "c1" }, caller, gone).effects).toEqual([
      { kind: "surface.remove", key: surfaceKey("old", "c1") },
    ]);
    expect(
      d({ type: "unsubscribe", surfaceId: "old-global", conversationId: "c1" }, caller, gone).effects,
    ).toEqual([{ kind: "surface.remove", key: surfaceKey("old-global", undefined) }]);
  });

  test("invoke passes action, payload and conversation through", () => {
    expect(
      d({
        type: "invoke",
        surfaceId: "message-queue",
        actionId: "cancel:m1",
        payload: { a: 1 },
        conversationId: "c1",
      }).effects,
    ).toEqual([
      {
        kind: "surface.invoke",
        surfaceId: "message-queue",
        actionId: "cancel:m1",
        payload: { a: 1 },
        conversationId: "c1",
      },
    ]);
    expect(d({ type: "invoke", surfaceId: "loaded-extensions", actionId: "x", id: "i" }).effects).toEqual([
      {
        kind: "surface.invoke",
        surfaceId: "loaded-extensions",
        actionId: "x",
        payload: undefined,
        replyTo: "i",
      },
    ]);
  });
});

describe("chat ops", () => {
  test("chat.send mints a conversation and watches it only after the start (the follow-up)", () => {
    expect(d({ type: "chat.send", message: "hi" })).toEqual({
      replies: [],
      effects: [
        {
          kind: "turn.start",
          turn: { conversationId: "minted-1", message: "hi" },
          onTurnStarted: [{ kind: "conversation.watch", conversationId: "minted-1" }],
        },
      ],
    });
  });

  test("chat.send: no watch when already watching, nor for a caller without a connection", () => {
    for (const caller of [watching("c1"), http]) {
      const o = d({ type: "chat.send", conversationId: "c1", message: "hi" }, caller);
      expect(o.effects).toEqual([
        { kind: "turn.start", turn: { conversationId: "c1", message: "hi" }, onTurnStarted: [] },
      ]);
    }
  });

  test("chat.send keeps every setting and drops computerId", () => {
    const o = d({
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
    expect(o.effects[0]).toMatchObject({
      kind: "turn.start",
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
    expect("computerId" in (o.effects[0] as { turn: object }).turn).toBe(false);
  });

  test("a grant needs the token: FORBIDDEN for a caller without it, on any transport", () => {
    const grant = { tools: "all" } as never;
    for (const connected of [true, false]) {
      const caller: Caller = { ...empty, connected, authenticated: false };
      const o = d({ type: "chat.send", conversationId: "c1", message: "hi", grant, id: "g" }, caller);
      expect(o.effects).toEqual([]);
      expect(o.replies).toEqual([
        {
          kind: "failed",
          family: "chat",
          conversationId: "c1",
          replyTo: "g",
          error: { code: "FORBIDDEN", message: expect.stringContaining("token") },
        },
      ]);
    }
    const allowed = d({ type: "chat.send", conversationId: "c1", message: "hi", grant }, watching("c1"));
    expect(allowed.effects[0]).toMatchObject({ kind: "turn.start", turn: { grant } });
  });

  test("chat.subscribe with and without resume; idempotent per connection; nothing for HTTP", () => {
    expect(d({ type: "chat.subscribe", conversationId: "c1" })).toEqual({
      replies: [{ kind: "done", op: "chat.subscribe" }],
      effects: [{ kind: "conversation.watch", conversationId: "c1" }],
    });
    expect(
      d({ type: "chat.subscribe", conversationId: "c1", resume: { turnId: "t", n: 4 }, id: "r" }).effects,
    ).toEqual([{ kind: "conversation.watch", conversationId: "c1", resume: { turnId: "t", n: 4 } }]);
    expect(d({ type: "chat.subscribe", conversationId: "c1", id: "again" }, watching("c1"))).toEqual({
      replies: [{ kind: "done", op: "chat.subscribe", replyTo: "again" }],
      effects: [],
    });
    expect(d({ type: "chat.subscribe", conversationId: "c1" }, http).effects).toEqual([]);
  });

  test("chat.unsubscribe: idempotent", () => {
    expect(d({ type: "chat.unsubscribe", conversationId: "c1" }, watching("c1")).effects).toEqual([
      { kind: "conversation.unwatch", conversationId: "c1" },
    ]);
    expect(d({ type: "chat.unsubscribe", conversationId: "c1" }).effects).toEqual([]);
  });

  test("chat.queue watches only once its message started a turn (a follow-up)", () => {
    expect(
      d({ type: "chat.queue", conversationId: "c1", text: "more", workspaceId: "w", id: "q" }).effects,
    ).toEqual([
      {
        kind: "queue.add",
        conversationId: "c1",
        text: "more",
        workspaceId: "w",
        replyTo: "q",
        onTurnStarted: [{ kind: "conversation.watch", conversationId: "c1" }],
      },
    ]);
    expect(d({ type: "chat.queue", conversationId: "c1", text: "more" }, watching("c1")).effects).toEqual([
      { kind: "queue.add", conversationId: "c1", text: "more", onTurnStarted: [] },
    ]);
  });

  test("chat.queue.cancel, chat.stop, chat.permission (reason passes through)", () => {
    expect(d({ type: "chat.queue.cancel", conversationId: "c1", messageId: "m" }).effects).toEqual([
      { kind: "queue.cancel", conversationId: "c1", messageId: "m" },
    ]);
    expect(d({ type: "chat.stop", conversationId: "c1", id: "st" }).effects).toEqual([
      { kind: "turn.stop", conversationId: "c1", replyTo: "st" },
    ]);
    expect(
      d(
        { type: "chat.permission", conversationId: "c1", requestId: "r", decision: "deny", reason: "no" },
        http,
      ).effects,
    ).toEqual([
      { kind: "permission.answer", conversationId: "c1", requestId: "r", decision: "deny", reason: "no" },
    ]);
  });
});

describe("conversation lifecycle", () => {
  test("open, close and compact become their effects (keepLastN only when given)", () => {
    expect(d({ type: "conversation.open", conversationId: "c1", id: "o" }, http).effects).toEqual([
      { kind: "conversation.open", conversationId: "c1", replyTo: "o" },
    ]);
    expect(d({ type: "conversation.close", conversationId: "c1" }, http).effects).toEqual([
      { kind: "conversation.close", conversationId: "c1" },
    ]);
    expect(d({ type: "conversation.compact", conversationId: "c1" }, http).effects).toEqual([
      { kind: "conversation.compact", conversationId: "c1" },
    ]);
    expect(d({ type: "conversation.compact", conversationId: "c1", keepLastN: 2 }, http).effects).toEqual([
      { kind: "conversation.compact", conversationId: "c1", keepLastN: 2 },
    ]);
  });
});

describe("hello", () => {
  const hello = (protocol: number, id?: string): Command =>
    id === undefined ? { type: "hello", protocol } : { type: "hello", protocol, id };

  test("protocol 2 as the first command → the level effect and the hello reply (plus done with an id)", () => {
    const o = d(hello(2, "h1"));
    expect(o.effects).toEqual([{ kind: "connection.level", level: 2 }]);
    expect(o.replies[0]).toMatchObject({
      kind: "hello",
      level: 2,
      server: { name: "dispatch", version: "9.9.9" },
    });
    expect((o.replies[0] as { features: string[] }).features).toContain("resume");
    expect(o.replies[1]).toEqual({ kind: "done", op: "hello", replyTo: "h1" });
  });

  test("an unknown level, a second hello and a late hello are refused with their codes", () => {
    for (const p of [0, 3, 99]) {
      const o = d(hello(p, "h"));
      expect(o.effects).toEqual([]);
      expect(o.replies[0]).toMatchObject({
        kind: "failed",
        family: "surface",
        replyTo: "h",
        error: {
          code: "WS_UNSUPPORTED_PROTOCOL",
          message: expect.stringContaining(`protocol ${p} is not supported`),
        },
      });
    }
    expect(d(hello(2), { ...empty, level: 2, greeted: true }).replies[0]).toMatchObject({
      error: { code: "WS_HELLO_REPEATED" },
    });
    expect(d(hello(2), { ...empty, spoken: true }).replies[0]).toMatchObject({
      error: { code: "WS_HELLO_LATE" },
    });
  });
});

describe("unknown types", () => {
  test("a type the switch does not know is a refusal, not a throw", () => {
    const rogue = { type: "surprise", id: "z" } as unknown as Command;
    expect(d(rogue)).toEqual({
      replies: [
        {
          kind: "failed",
          family: "surface",
          replyTo: "z",
          error: { code: "PROTOCOL_UNKNOWN_TYPE", message: "Unknown message type: surprise" },
        },
      ],
      effects: [],
    });
    const chatRogue = { type: "chat.surprise" } as unknown as Command;
    expect(d(chatRogue).replies[0]).toMatchObject({ family: "chat" });
  });
});

describe("channels (level 2)", () => {
  const l2: Caller = { ...empty, level: 2, greeted: true };
  test("conversation:* and workspace:<id>:* watch the pattern once (idempotent per key)", () => {
    expect(d({ type: "channel.subscribe", channel: "conversation:*", id: "c1" }, l2)).toEqual({
      replies: [{ kind: "done", op: "channel.subscribe", replyTo: "c1" }],
      effects: [{ kind: "channel.watch", channel: { kind: "all" }, key: "conversation:*" }],
    });
    const resume = { a: { turnId: "t", n: 3 } };
    expect(d({ type: "channel.subscribe", channel: "workspace:w:*", resume }, l2).effects).toEqual([
      {
        kind: "channel.watch",
        channel: { kind: "workspace", workspaceId: "w" },
        key: "workspace:w:*",
        resume,
      },
    ]);
    const holding: Caller = { ...l2, channels: new Set(["conversation:*"]) };
    expect(d({ type: "channel.subscribe", channel: "conversation:*" }, holding).effects).toEqual([]);
    expect(d({ type: "channel.unsubscribe", channel: "conversation:*" }, holding).effects).toEqual([
      { kind: "channel.unwatch", key: "conversation:*" },
    ]);
    expect(d({ type: "channel.unsubscribe", channel: "conversation:*" }, l2).effects).toEqual([]);
  });

  test("conversation:<id> is chat.subscribe (its entry of resume is the resume point)", () => {
    const resume = { c: { turnId: "t", n: 2 }, other: { turnId: "u", n: 9 } };
    expect(d({ type: "channel.subscribe", channel: "conversation:c", resume }, l2).effects).toEqual([
      { kind: "conversation.watch", conversationId: "c", resume: { turnId: "t", n: 2 } },
    ]);
    const w: Caller = { ...l2, conversations: new Set(["c"]) };
    expect(d({ type: "channel.unsubscribe", channel: "conversation:c" }, w).effects).toEqual([
      { kind: "conversation.unwatch", conversationId: "c" },
    ]);
  });

  test("bad channels and level 1 are refused with their codes; nothing is watched", () => {
    for (const [channel, code] of [
      ["conversation:", "CHANNEL_INVALID"],
      ["**", "CHANNEL_UNKNOWN_PREFIX"],
      ["nope:x", "CHANNEL_UNKNOWN_PREFIX"],
      ["workspace:w", "CHANNEL_INVALID"],
    ] as const) {
      const r = d({ type: "channel.subscribe", channel, id: "x" }, l2);
      expect(r.effects).toEqual([]);
      expect(r.replies).toMatchObject([{ kind: "failed", family: "surface", error: { code }, replyTo: "x" }]);
    }
    const r = d({ type: "channel.subscribe", channel: "conversation:*" }, empty);
    expect(r.effects).toEqual([]);
    expect(r.replies).toMatchObject([{ kind: "failed", error: { code: "LEVEL2_REQUIRED" } }]);
    // An HTTP event stream (SSE) may watch a channel at level 1: its level only filters event types.
    const sse: Caller = { ...empty, stream: true };
    expect(d({ type: "channel.subscribe", channel: "conversation:*" }, sse).effects).toEqual([
      { kind: "channel.watch", channel: { kind: "all" }, key: "conversation:*" },
    ]);
  });

  test("a caller without a connection (HTTP) never watches", () => {
    expect(
      d({ type: "channel.subscribe", channel: "conversation:*" }, { ...http, level: 2 }).effects,
    ).toEqual([]);
  });
});

describe("hello batchMs", () => {
  test("level 2 with batchMs sets it on the connection; level 1 may not ask", () => {
    expect(d({ type: "hello", protocol: 2, batchMs: 40 }).effects).toEqual([
      { kind: "connection.level", level: 2, batchMs: 40 },
    ]);
    expect(d({ type: "hello", protocol: 2, batchMs: 0 }).effects).toEqual([
      { kind: "connection.level", level: 2 },
    ]);
    const r = d({ type: "hello", protocol: 1, batchMs: 40 });
    expect(r.effects).toEqual([]);
    expect(r.replies).toMatchObject([{ kind: "failed", error: { code: "LEVEL2_REQUIRED" } }]);
  });
});
