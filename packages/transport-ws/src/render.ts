/**
 * Replies of the operations core → WebSocket frames — pure. The core says what happened; this file
 * says how it looks on this wire (PROTOCOL.md §2–§3), in one place.
 */
import type { Reply } from "@dispatch/operations";
import type { ParseClientMessageResult, ServerMessage } from "@dispatch/protocol/types";
import { ackFrames, chatErrorFrame, errorFrame, surfaceFrame, TURN_RUNNING_MESSAGE } from "./replies";

/** Pure: the frames one reply becomes (a success without `replyTo` is silent). */
export function replyFrames(r: Reply): ServerMessage[] {
  switch (r.kind) {
    case "pong":
      return [{ type: "pong" }];
    case "hello":
      return [
        {
          type: "hello",
          protocol: r.level,
          server: { ...r.server },
          features: [...r.features],
          ...(r.share === undefined ? {} : { share: { ...r.share } }),
        },
      ];
    case "done":
      return ackFrames(r.replyTo);
    case "surface":
      return [surfaceFrame(r.target, r.spec)];
    case "failed": {
      const { code, message } = r.error;
      if (r.family === "chat") {
        // (compat) the frontend matches this text for a conversation that is already generating.
        const text = code === "ORCH_TURN_RUNNING" ? TURN_RUNNING_MESSAGE : message;
        return [chatErrorFrame(text, { conversationId: r.conversationId, code, replyTo: r.replyTo })];
      }
      return [errorFrame(message, { surfaceId: r.surfaceId, code, replyTo: r.replyTo })];
    }
    default:
      return unknownReply(r);
  }
}

/** Pure: the frames of several replies, in order. */
export function repliesFrames(replies: readonly Reply[]): ServerMessage[] {
  return replies.flatMap(replyFrames);
}

/** Pure: the answer to a frame that did not parse (`chat.error` for a chat op, else `error`). */
export function parseFailureFrame(parsed: Extract<ParseClientMessageResult, { ok: false }>): ServerMessage {
  const { code, message, replyToId, isChat } = parsed.error;
  const opts = { code, replyTo: replyToId };
  return isChat ? chatErrorFrame(message, opts) : errorFrame(message, opts);
}

function unknownReply(r: never): ServerMessage[] {
  return [errorFrame(`internal: unknown reply ${String((r as { kind?: unknown }).kind)}`)];
}
