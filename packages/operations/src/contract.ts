/**
 * The operations core's vocabulary, shared by every transport: what a client asks (`Command`), who
 * asks (`Caller`), what the world looks like (`OperationsView`), and what the core answers — replies to
 * the caller and effects to run, each effect carrying its own follow-ups (xstate-style actions).
 *
 * Guarantees: the shapes are transport-neutral (no frame, no HTTP status); a transport renders a
 * `Reply` its own way (transport-ws: protocol frames; transport-http: JSON bodies and statuses).
 */

import type { Channel } from "@dispatch/event-streams";
import type { ProtocolLevel } from "@dispatch/protocol/levels";
import type {
  AccessRequirement,
  ChatRequestBody,
  ClientMessage,
  PermissionDecision,
  ResumePoint,
  SurfaceScope,
  SurfaceSpec,
} from "@dispatch/protocol/types";
import type { Read } from "./read-contract";

/**
 * A client operation. The protocol's client messages are the command language (a WebSocket frame
 * parses into one as it is); HTTP routes build the same commands from path and body. `reason` on a
 * permission answer is accepted from HTTP only (the frame has no such field).
 */
export type Command =
  | Exclude<ClientMessage, { type: "chat.permission" }>
  | (Extract<ClientMessage, { type: "chat.permission" }> & { reason?: string })
  | ConversationCommand
  /** A read (settings, status, list, window, models, MCP servers); see reads.ts. */
  | { type: "read"; read: Read; id?: string };

/** Conversation lifecycle operations no frame parses into yet (HTTP offers them today). */
export type ConversationCommand =
  | { type: "conversation.open"; conversationId: string; id?: string }
  /** Stops the running turn and closes; resolves once the turn is sealed. */
  | { type: "conversation.close"; conversationId: string; id?: string }
  | { type: "conversation.compact"; conversationId: string; keepLastN?: number; id?: string }
  /** Share links (PROTOCOL.md §8; HTTP offers them). */
  | { type: "share.create"; conversationId: string; expiresInSec?: number; label?: string; id?: string }
  | { type: "share.list"; conversationId: string; id?: string }
  | { type: "share.revoke"; shareId: string; id?: string };
export type CommandType = Command["type"];

/**
 * Who a caller is. `owner`: the daemon's token, a paired browser session or an allow-listed local
 * browser. `viewer`: a share secret, scoped to one conversation (and the share it came through).
 */
export type Role = { kind: "owner" } | { kind: "viewer"; conversationId: string; shareId: string };
export const OWNER: Role = { kind: "owner" };

/**
 * What an operation asks of its caller: `anyone` (a viewer too: greeting, liveness, documents),
 * `conversation` (an owner, or a viewer of the conversation the operation is about), `owner`.
 */
export type Requirement = AccessRequirement;

/** Who sends a command: identity and rights, plus what its connection already holds. */
export interface Caller {
  /**
   * Owner or a share viewer of one conversation (roles.ts decides what each may do, in `decide`).
   *
   * The seam for every transport (WebSocket, HTTP, SSE, long-poll, relays): build `role` from the
   * admission (connection-policy's decision: admitted through a share secret → `viewer` of that
   * share's conversation; anything else → `OWNER`), hand every operation to `decide` (reads
   * included), and declare each new command's requirement (a client message's beside its schema in the protocol's
   * `clientMessageRequirements`, an HTTP-only command's in roles.ts; the compiler asks).
   * A stream that is no command (SSE `GET /events`, long-poll) asks `authorize(requirement, role,
   * operation, conversationId)` with `conversationOf` its channel before it streams.
   */
  readonly role: Role;
  /** The protocol level it speaks. */
  readonly level: ProtocolLevel;
  /** It presented the daemon's token (a browser admitted by Origin or cookie alone did not). */
  readonly authenticated: boolean;
  /**
   * A long-lived connection that can watch conversations and hold surface subscriptions; false for a
   * request/response caller (HTTP), which never gets watch or subscription effects.
   */
  readonly connected: boolean;
  /** A `hello` was accepted on this connection. */
  readonly greeted: boolean;
  /** A command other than `hello` was already handled (a later `hello` is refused). */
  readonly spoken: boolean;
  /** Keys (see `surfaceKey`) of its surface subscriptions. */
  readonly surfaces: ReadonlySet<string>;
  /** Conversation ids it watches. */
  readonly conversations: ReadonlySet<string>;
  /**
   * An HTTP event stream (SSE, long-poll): connected while it lasts, its level only filters event
   * types, so channels are open to it at level 1 too (a WebSocket asks for level 2 first).
   */
  readonly stream?: boolean;
  /** Keys (`channelKey`) of the wildcard channels it watches (`conversation:*`, `workspace:<id>:*`). */
  readonly channels: ReadonlySet<string>;
}

/** A channel of many conversations (`conversation:*`, `workspace:<id>:*`). */
export type WildcardChannel = Exclude<Channel, { kind: "conversation" }>;

/** Read-only facts the core needs, passed in by the shell. */
export interface OperationsView {
  /** The scope of a registered surface (absent scope = "conversation"); undefined when unknown. */
  surfaceScope(surfaceId: string): SurfaceScope | undefined;
  /** Mints a conversation id (a UUID) for a turn without one. */
  newConversationId(): string;
  /** Named in the `hello` reply. */
  server: { name: string; version: string };
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

/** What a turn start asks the orchestrator: the `POST /chat` body with the conversation id set. */
export type TurnRequest = ChatRequestBody & { conversationId: string };

/** A coded failure, as services and the core report them. */
export interface OpError {
  readonly code: string;
  readonly message: string;
}

/** What a service answers: a value, or a coded error that names the culprit. */
export type OpResult<T = unknown> = { ok: true; value: T } | { ok: false; error: OpError };

/** Which error family a failure answers in (WebSocket: `chat.error` vs `error`). */
export type ReplyFamily = "chat" | "surface";

/** What the caller is told. `replyTo` echoes the command's `id` when it had one. */
export type Reply =
  | { kind: "pong" }
  | {
      kind: "hello";
      level: ProtocolLevel;
      server: { name: string; version: string };
      features: string[];
      /** To a share viewer: its share and the one conversation it may watch. */
      share?: { shareId: string; conversationId: string };
    }
  /** The operation succeeded; `value` is the service's answer (HTTP renders it, WS acks). */
  | { kind: "done"; op: CommandType; value?: unknown; replyTo?: string }
  /** The operation failed with a coded error. */
  | {
      kind: "failed";
      family: ReplyFamily;
      error: OpError;
      conversationId?: string;
      surfaceId?: string;
      replyTo?: string;
    }
  /** The current spec of a surface just subscribed to. */
  | { kind: "surface"; target: SurfaceTarget; spec: SurfaceSpec };

/**
 * What the interpreter (run-effects.ts) does for a command. Effects that call a service reply with its
 * result themselves and name their follow-ups: `onTurnStarted` runs once a turn started (before the reply, so a
 * watch replays from the turn's first event), `otherwise` after failure (a rollback).
 */
export type Effect =
  /**
   * The connection now speaks `level` (and is greeted): move its subscriptions. `batchMs` (level 2):
   * its turn events are batched into `chat.batch` frames within that window.
   */
  | { kind: "connection.level"; level: ProtocolLevel; batchMs?: number }
  | { kind: "surface.add"; target: SurfaceTarget }
  | { kind: "surface.remove"; key: string }
  /** Fetch the spec; reply `surface` then `done`, or `failed` and run `otherwise`. */
  | { kind: "surface.spec"; target: SurfaceTarget; replyTo?: string; otherwise: Effect[] }
  | {
      kind: "surface.invoke";
      surfaceId: string;
      actionId: string;
      payload: unknown;
      conversationId?: string;
      replyTo?: string;
    }
  | { kind: "turn.start"; turn: TurnRequest; replyTo?: string; onTurnStarted: Effect[] }
  /** Enqueue; `onTurnStarted` runs only when the message started a turn right away. */
  | {
      kind: "queue.add";
      conversationId: string;
      text: string;
      workspaceId?: string;
      replyTo?: string;
      onTurnStarted: Effect[];
    }
  | { kind: "queue.cancel"; conversationId: string; messageId: string; replyTo?: string }
  | { kind: "turn.stop"; conversationId: string; replyTo?: string }
  | {
      kind: "permission.answer";
      conversationId: string;
      requestId: string;
      decision: PermissionDecision;
      reason?: string;
      replyTo?: string;
    }
  | { kind: "conversation.open"; conversationId: string; replyTo?: string }
  /** Asynchronous: waits until the running turn is sealed. */
  | { kind: "conversation.close"; conversationId: string; replyTo?: string }
  /** Asynchronous: a model call. */
  | { kind: "conversation.compact"; conversationId: string; keepLastN?: number; replyTo?: string }
  /** Replay then watch the conversation (the connection's watcher entry). */
  | { kind: "conversation.watch"; conversationId: string; resume?: ResumePoint }
  | { kind: "conversation.unwatch"; conversationId: string }
  /**
   * Replay every running turn of the channel's conversations (each after `resume[conversationId]`
   * when given), then follow every matching conversation live, new ones included.
   */
  | {
      kind: "channel.watch";
      channel: WildcardChannel;
      key: string;
      resume?: Readonly<Record<string, ResumePoint>>;
    }
  | { kind: "channel.unwatch"; key: string }
  | { kind: "share.create"; conversationId: string; expiresInSec?: number; label?: string; replyTo?: string }
  | { kind: "share.list"; conversationId: string; replyTo?: string }
  /** Revokes and closes the share's live viewers with 4403. */
  | { kind: "share.revoke"; shareId: string; replyTo?: string }
  /** Fetch, then reply what the core makes of the answer (`readReply`). */
  | { kind: "read"; read: Read; replyTo?: string };
export type EffectKind = Effect["kind"];

/** The core's answer to one command: say these now, run these (in order). */
export interface Decision {
  replies: Reply[];
  effects: Effect[];
}

export const OperationsErrorCodes = [
  "WS_UNKNOWN_SURFACE",
  /** `hello` asked for a level this server does not speak. */
  "WS_UNSUPPORTED_PROTOCOL",
  /** A second `hello` on the same connection. */
  "WS_HELLO_REPEATED",
  /** `hello` after other messages: the level is fixed by the first message. */
  "WS_HELLO_LATE",
  /** A right the caller lacks (a `grant` without the daemon's token). */
  "FORBIDDEN",
  /** A level-2 operation (channels, batching) on a connection that did not ask for level 2. */
  "LEVEL2_REQUIRED",
] as const;
export type OperationsErrorCode = (typeof OperationsErrorCodes)[number];

/**
 * A turn's permission grant (`grant` on chat.send / POST /chat: `dispatch --allow`, `--yes`) lets its
 * tools run unasked, so only a caller holding the daemon's token may send one.
 */
export const GRANT_NEEDS_TOKEN = {
  code: "FORBIDDEN",
  message: "grant (allowing tools for a turn) needs the daemon's token; this connection did not present it",
} as const;
