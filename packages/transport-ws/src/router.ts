/**
 * The WebSocket router — pure: one parsed client frame in, one outcome out. No I/O, no Bun, no node:.
 *
 * The shell (extension.ts) parses each frame with the protocol package, calls `routeClientMessage`,
 * then applies the outcome: it sends replies, changes subscriptions and runs the async ops (surface
 * specs, invokes, turns), turning their results into frames with the pure helpers of replies.ts.
 *
 * Guarantees:
 * - Every client message type of PROTOCOL.md §2 has a case; the `never` check makes the compiler
 *   reject a new type until it is routed. Parse failures are outcomes too — never a throw, never
 *   undefined.
 * - Failures of chat ops answer `chat.error`, all others `error`; `replyTo` echoes the frame's `id`.
 * - Subscribe/unsubscribe are idempotent: per (surfaceId, conversationId) and per chat conversation.
 *   A global surface ignores `conversationId` (one subscription per connection).
 */
import {
  asProtocolLevel,
  LEVEL2_FEATURES,
  PROTOCOL_LEVELS,
  type ProtocolLevel,
} from "@dispatch/protocol/levels";
import type {
  ChatErrorMessage,
  ChatRequestBody,
  ClientMessage,
  ErrorMessage,
  ParseClientMessageResult,
  PermissionDecision,
  ResumePoint,
  ServerMessage,
  SurfaceScope,
} from "@dispatch/protocol/types";
import { ackFrames, chatErrorFrame, errorFrame } from "./replies";

/** Read-only facts the router needs, passed in by the shell. */
export interface RouterView {
  /** The scope of a registered surface (absent scope = "conversation"); undefined when unknown. */
  surfaceScope(surfaceId: string): SurfaceScope | undefined;
  /** Mints a conversation id (a UUID) for `chat.send` without one. */
  newConversationId(): string;
  /** Named in the `hello` reply. */
  server: { name: string; version: string };
}

/** What the router knows about one connection; the shell owns and updates it from outcomes. */
export interface ConnectionState {
  /** Keys (see `surfaceKey`) of the surface subscriptions. */
  readonly surfaces: ReadonlySet<string>;
  /** Conversation ids this connection watches. */
  readonly conversations: ReadonlySet<string>;
  /** The protocol level: 1 until a `hello` asks for another. */
  readonly level: ProtocolLevel;
  /** A `hello` was accepted on this connection. */
  readonly greeted: boolean;
  /** A message other than `hello` was already handled (a later `hello` is refused). */
  readonly spoken: boolean;
}

/** One surface subscription target, normalized by scope. */
export interface SurfaceTarget {
  surfaceId: string;
  scope: SurfaceScope;
  /** Only for conversation-scoped surfaces. */
  conversationId?: string;
  /** Identity of the subscription (see `surfaceKey`). */
  key: string;
}

/** What `chat.send` asks the orchestrator to start: the `POST /chat` body with the conversation id set. */
export type TurnRequest = ChatRequestBody & { conversationId: string };

export const RouterErrorCodes = [
  "WS_UNKNOWN_SURFACE",
  /** `hello` asked for a level this server does not speak. */
  "WS_UNSUPPORTED_PROTOCOL",
  /** A second `hello` on the same connection. */
  "WS_HELLO_REPEATED",
  /** `hello` after other messages: the level is fixed by the first message. */
  "WS_HELLO_LATE",
] as const;
export type RouterErrorCode = (typeof RouterErrorCodes)[number];

/** The closed set of things the shell may have to do for one frame. */
export type RouteOutcome =
  /** Send these frames to the sender (pong, acks of no-ops). Possibly none. */
  | { kind: "reply"; frames: ServerMessage[] }
  /** The connection now speaks `level`: record it, move its subscriptions, then send `frames`. */
  | { kind: "hello"; level: ProtocolLevel; frames: ServerMessage[] }
  /** The frame is refused; send `frame` (an `error` or `chat.error`). */
  | { kind: "reject"; code: string; frame: ErrorMessage | ChatErrorMessage }
  /** Add the subscription when `added`, then send the current spec (`surface`) and the ack. */
  | { kind: "surface.subscribe"; target: SurfaceTarget; added: boolean; replyTo?: string }
  /** Remove the subscription, then ack. */
  | { kind: "surface.unsubscribe"; target: SurfaceTarget; replyTo?: string }
  /** Run a surface action; a failure is reported as `error`. */
  | {
      kind: "surface.invoke";
      surfaceId: string;
      actionId: string;
      payload: unknown;
      conversationId?: string;
      replyTo?: string;
    }
  /** Subscribe the sender to the conversation, then start the turn. */
  | { kind: "chat.send"; turn: TurnRequest; minted: boolean; replyTo?: string }
  /** Replay then watch the conversation. */
  | { kind: "chat.subscribe"; conversationId: string; resume?: ResumePoint; replyTo?: string }
  | { kind: "chat.unsubscribe"; conversationId: string; replyTo?: string }
  | { kind: "chat.queue"; conversationId: string; text: string; workspaceId?: string; replyTo?: string }
  | { kind: "chat.queue.cancel"; conversationId: string; messageId: string; replyTo?: string }
  | { kind: "chat.stop"; conversationId: string; replyTo?: string }
  | {
      kind: "chat.permission";
      conversationId: string;
      requestId: string;
      decision: PermissionDecision;
      replyTo?: string;
    };

/** Pure: the identity of a surface subscription. Unambiguous for any ids. */
export function surfaceKey(surfaceId: string, conversationId: string | undefined): string {
  return JSON.stringify([surfaceId, conversationId ?? null]);
}

/** Pure: a global surface drops `conversationId`; a conversation-scoped one keeps it. */
function surfaceTarget(surfaceId: string, scope: SurfaceScope, conversationId?: string): SurfaceTarget {
  const conv = scope === "global" ? undefined : conversationId;
  const target: SurfaceTarget = { surfaceId, scope, key: surfaceKey(surfaceId, conv) };
  if (conv !== undefined) target.conversationId = conv;
  return target;
}

/** Adds `replyTo` when the frame carried an `id` (absent fields stay absent). */
function withReply<T extends object>(outcome: T, id: string | undefined): T & { replyTo?: string } {
  return id === undefined ? outcome : { ...outcome, replyTo: id };
}

function unknownSurface(surfaceId: string, id: string | undefined, op: string): RouteOutcome {
  return {
    kind: "reject",
    code: "WS_UNKNOWN_SURFACE",
    frame: errorFrame(`${op}: unknown surface "${surfaceId}"`, {
      surfaceId,
      code: "WS_UNKNOWN_SURFACE",
      replyTo: id,
    }),
  };
}

/**
 * Pure: routes one parsed client frame.
 * `parsed` is what `parseClientMessage` returned for the frame (a failure included).
 */
export function routeClientMessage(
  view: RouterView,
  state: ConnectionState,
  parsed: ParseClientMessageResult,
): RouteOutcome {
  if (!parsed.ok) {
    const { code, message, replyToId, isChat } = parsed.error;
    const opts = { code, replyTo: replyToId };
    return {
      kind: "reject",
      code,
      frame: isChat ? chatErrorFrame(message, opts) : errorFrame(message, opts),
    };
  }
  return routeMessage(view, state, parsed.message);
}

/** Pure: routes one valid client message (the exhaustive switch). */
export function routeMessage(view: RouterView, state: ConnectionState, msg: ClientMessage): RouteOutcome {
  switch (msg.type) {
    case "ping":
      return { kind: "reply", frames: [{ type: "pong" }, ...ackFrames(msg.id)] };

    case "hello":
      return routeHello(view, state, msg.protocol, msg.id);

    case "subscribe": {
      const scope = view.surfaceScope(msg.surfaceId);
      if (scope === undefined) return unknownSurface(msg.surfaceId, msg.id, "subscribe");
      const target = surfaceTarget(msg.surfaceId, scope, msg.conversationId);
      return withReply({ kind: "surface.subscribe", target, added: !state.surfaces.has(target.key) }, msg.id);
    }

    case "unsubscribe": {
      // A surface that has since disappeared can still be unsubscribed (cleanup); its scope is then
      // inferred from what this connection holds.
      const known = view.surfaceScope(msg.surfaceId);
      const candidates = known
        ? [surfaceTarget(msg.surfaceId, known, msg.conversationId)]
        : [
            surfaceTarget(msg.surfaceId, "conversation", msg.conversationId),
            surfaceTarget(msg.surfaceId, "global"),
          ];
      const target = candidates.find((t) => state.surfaces.has(t.key));
      if (target === undefined) return { kind: "reply", frames: ackFrames(msg.id) };
      return withReply({ kind: "surface.unsubscribe", target }, msg.id);
    }

    case "invoke": {
      if (view.surfaceScope(msg.surfaceId) === undefined)
        return unknownSurface(msg.surfaceId, msg.id, "invoke");
      const op = {
        kind: "surface.invoke" as const,
        surfaceId: msg.surfaceId,
        actionId: msg.actionId,
        payload: msg.payload,
      };
      return withReply(
        msg.conversationId === undefined ? op : { ...op, conversationId: msg.conversationId },
        msg.id,
      );
    }

    case "chat.send": {
      const minted = msg.conversationId === undefined;
      const turn: TurnRequest = {
        conversationId: msg.conversationId ?? view.newConversationId(),
        message: msg.message,
      };
      if (msg.model !== undefined) turn.model = msg.model;
      if (msg.cwd !== undefined) turn.cwd = msg.cwd;
      if (msg.reasoningEffort !== undefined) turn.reasoningEffort = msg.reasoningEffort;
      if (msg.workspaceId !== undefined) turn.workspaceId = msg.workspaceId;
      if (msg.images !== undefined) turn.images = msg.images;
      if (msg.grant !== undefined) turn.grant = msg.grant;
      return withReply({ kind: "chat.send", turn, minted }, msg.id);
    }

    case "chat.subscribe": {
      if (state.conversations.has(msg.conversationId)) return { kind: "reply", frames: ackFrames(msg.id) };
      const op = { kind: "chat.subscribe" as const, conversationId: msg.conversationId };
      return withReply(msg.resume === undefined ? op : { ...op, resume: msg.resume }, msg.id);
    }

    case "chat.unsubscribe":
      if (!state.conversations.has(msg.conversationId)) return { kind: "reply", frames: ackFrames(msg.id) };
      return withReply({ kind: "chat.unsubscribe", conversationId: msg.conversationId }, msg.id);

    case "chat.queue": {
      const op = { kind: "chat.queue" as const, conversationId: msg.conversationId, text: msg.text };
      return withReply(msg.workspaceId === undefined ? op : { ...op, workspaceId: msg.workspaceId }, msg.id);
    }

    case "chat.queue.cancel":
      return withReply(
        { kind: "chat.queue.cancel", conversationId: msg.conversationId, messageId: msg.messageId },
        msg.id,
      );

    case "chat.stop":
      return withReply({ kind: "chat.stop", conversationId: msg.conversationId }, msg.id);

    case "chat.permission":
      return withReply(
        {
          kind: "chat.permission",
          conversationId: msg.conversationId,
          requestId: msg.requestId,
          decision: msg.decision,
        },
        msg.id,
      );

    default:
      return unroutable(msg);
  }
}

function helloRefused(code: RouterErrorCode, message: string, id: string | undefined): RouteOutcome {
  return { kind: "reject", code, frame: errorFrame(message, { code, replyTo: id }) };
}

/** Pure: `hello` is accepted once, as the first message, for a level this server speaks. */
function routeHello(
  view: RouterView,
  state: ConnectionState,
  protocol: number,
  id: string | undefined,
): RouteOutcome {
  if (state.greeted) {
    return helloRefused(
      "WS_HELLO_REPEATED",
      `hello: already received on this connection (it speaks protocol ${state.level}); send hello once`,
      id,
    );
  }
  if (state.spoken) {
    return helloRefused(
      "WS_HELLO_LATE",
      "hello: must be the first message of a connection (this one stays at protocol 1); reconnect and send hello first",
      id,
    );
  }
  const level = asProtocolLevel(protocol);
  if (level === undefined) {
    return helloRefused(
      "WS_UNSUPPORTED_PROTOCOL",
      `hello: protocol ${protocol} is not supported; this server speaks ${PROTOCOL_LEVELS.join(" and ")}`,
      id,
    );
  }
  const features = level >= 2 ? [...LEVEL2_FEATURES] : [];
  return {
    kind: "hello",
    level,
    frames: [{ type: "hello", protocol: level, server: { ...view.server }, features }, ...ackFrames(id)],
  };
}

/**
 * Reached only by a message the protocol parser let through but this switch does not know: the
 * compiler flags it (`never`), and at runtime it is an error reply, never a throw.
 */
function unroutable(msg: never): RouteOutcome {
  const type = String((msg as { type?: unknown }).type);
  const id = (msg as { id?: unknown }).id;
  const replyTo = typeof id === "string" ? id : undefined;
  const message = `Unknown message type: ${type}`;
  const opts = { code: "PROTOCOL_UNKNOWN_TYPE", replyTo };
  return {
    kind: "reject",
    code: "PROTOCOL_UNKNOWN_TYPE",
    frame: type.startsWith("chat.") ? chatErrorFrame(message, opts) : errorFrame(message, opts),
  };
}
