/**
 * Frame builders — pure. The core's replies become frames in render.ts, fan-out frames in fanout.ts;
 * both build them here, so what goes on the wire is decided (and tested) in one place.
 *
 * Absent optional fields are omitted, never `undefined` or `null` (PROTOCOL.md conventions).
 */
import { MAX_ID_CHARS } from "@dispatch/protocol";
import type {
  AckMessage,
  AgentEvent,
  CatalogEntry,
  CatalogMessage,
  ChatDeltaMessage,
  ChatErrorMessage,
  ConversationPresenceMessage,
  ErrorMessage,
  ServerMessage,
  SurfaceMessage,
  SurfaceSpec,
  UpdateMessage,
} from "@dispatch/protocol/types";

/** What the async services answer (the operations core's shape). */
export type { OpResult } from "@dispatch/operations";

/** The surface a reply is about (a `SurfaceTarget` fits). */
export interface SurfaceRef {
  surfaceId: string;
  conversationId?: string;
}

/** Message of the (compat) chat.error for a conversation that is already generating. */
export const TURN_RUNNING_MESSAGE = "a turn is already generating for this conversation";
/** Code of the generic error that answers an unexpected failure inside the server. */
const INTERNAL_ERROR_CODE = "WS_INTERNAL_ERROR";

/** Pure: `[ack]` when the frame carried an id, else nothing (fire-and-forget stays silent). */
export function ackFrames(id: string | undefined): AckMessage[] {
  return id === undefined ? [] : [{ type: "ack", replyTo: id }];
}

/** Pure: an `error` frame. */
export function errorFrame(
  message: string,
  opts: { surfaceId?: string | undefined; code?: string | undefined; replyTo?: string | undefined } = {},
): ErrorMessage {
  const f: ErrorMessage = { type: "error", message };
  if (opts.surfaceId !== undefined) f.surfaceId = opts.surfaceId;
  if (opts.replyTo !== undefined) f.replyTo = opts.replyTo;
  if (opts.code !== undefined) f.code = opts.code;
  return f;
}

/** Pure: a `chat.error` frame. */
export function chatErrorFrame(
  message: string,
  opts: { conversationId?: string | undefined; code?: string | undefined; replyTo?: string | undefined } = {},
): ChatErrorMessage {
  const f: ChatErrorMessage = { type: "chat.error", message };
  if (opts.conversationId !== undefined) f.conversationId = opts.conversationId;
  if (opts.replyTo !== undefined) f.replyTo = opts.replyTo;
  if (opts.code !== undefined) f.code = opts.code;
  return f;
}

/** Pure: the generic answer to an unexpected failure (details go to the log, not the wire). */
export function internalErrorFrame(isChat: boolean, replyTo?: string): ErrorMessage | ChatErrorMessage {
  const message = "internal server error";
  const opts = { code: INTERNAL_ERROR_CODE, replyTo };
  return isChat ? chatErrorFrame(message, opts) : errorFrame(message, opts);
}

export function catalogFrame(catalog: CatalogEntry[]): CatalogMessage {
  return { type: "catalog", catalog };
}

export function surfaceFrame(ref: SurfaceRef, spec: SurfaceSpec): SurfaceMessage {
  return ref.conversationId === undefined
    ? { type: "surface", spec }
    : { type: "surface", spec, conversationId: ref.conversationId };
}

export function updateFrame(ref: SurfaceRef, spec: SurfaceSpec): UpdateMessage {
  return {
    type: "update",
    update:
      ref.conversationId === undefined
        ? { surfaceId: ref.surfaceId, spec }
        : { surfaceId: ref.surfaceId, spec, conversationId: ref.conversationId },
  };
}

export function deltaFrame(event: AgentEvent, n: number | undefined): ChatDeltaMessage {
  return n === undefined ? { type: "chat.delta", event } : { type: "chat.delta", event, n };
}

export function presenceFrame(
  conversationId: string,
  watchers: number,
  viewers = 0,
): ConversationPresenceMessage {
  const frame: ConversationPresenceMessage = { type: "conversation.presence", conversationId, watchers };
  if (viewers > 0) frame.viewers = viewers;
  return frame;
}

/** What the shell can tell about a frame it will not handle: its `id`, and whether it is a chat op. */
export interface FrameGlance {
  id?: string;
  isChat: boolean;
}

/** Frames up to this many characters are glanced at with JSON.parse; longer ones by a prefix scan. */
const GLANCE_PARSE_CHARS = 4096;
const ID_IN_PREFIX = new RegExp(`"id"\\s*:\\s*"([^"\\\\]{1,${MAX_ID_CHARS}})"`);
const CHAT_TYPE_IN_PREFIX = /"type"\s*:\s*"chat\./;

/**
 * Pure: the `id` and chat-ness of a raw frame, without validating it (binary or invalid → neither).
 * Cheap whatever the frame's size: a long frame (one the rate limit dropped, say) is never parsed,
 * only its first few KiB scanned. An id longer than the protocol's cap is not echoed.
 */
export function glanceAtFrame(raw: string | Uint8Array): FrameGlance {
  if (typeof raw !== "string") return { isChat: false };
  if (raw.length > GLANCE_PARSE_CHARS) {
    const head = raw.slice(0, GLANCE_PARSE_CHARS);
    const id = ID_IN_PREFIX.exec(head)?.[1];
    const isChat = CHAT_TYPE_IN_PREFIX.test(head);
    return id === undefined ? { isChat } : { id, isChat };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { isChat: false };
  }
  if (typeof value !== "object" || value === null) return { isChat: false };
  const { id, type } = value as { id?: unknown; type?: unknown };
  const isChat = typeof type === "string" && type.startsWith("chat.");
  return typeof id === "string" && id.length <= MAX_ID_CHARS ? { id, isChat } : { isChat };
}

/**
 * Pure: answers a frame the rate limit dropped. The first drop of a burst ("warn") is always answered;
 * later drops are answered only when the frame carried an `id`, which gets its one error with `replyTo`
 * (PROTOCOL.md §2) instead of leaving the client waiting.
 */
export function rateLimitedReplies(
  verdict: "warn" | "drop",
  frame: FrameGlance,
  perSecond: number,
): ServerMessage[] {
  if (verdict === "drop" && frame.id === undefined) return [];
  const message =
    verdict === "warn"
      ? `rate limit exceeded (${perSecond} frames/s); frames are being dropped`
      : `rate limit exceeded (${perSecond} frames/s); this frame was dropped`;
  const opts = { code: "WS_RATE_LIMITED", replyTo: frame.id };
  return [frame.isChat ? chatErrorFrame(message, opts) : errorFrame(message, opts)];
}
