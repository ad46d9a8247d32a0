import type { AgentEvent } from "@dispatch/protocol/types";

/** Where a watcher of one conversation is: the last turn it saw an event of, and that event's index. */
export interface ChatCursor {
  turnId: string;
  n: number;
  /** Permission requests of this turn already delivered (the server re-sends pending ones on resume). */
  requests?: readonly string[];
}

/** Pure: the cursor with `requestId` recorded as delivered. */
function withRequest(cursor: ChatCursor, requestId: string): ChatCursor {
  return { ...cursor, requests: [...(cursor.requests ?? []), requestId] };
}

/**
 * Pure: should an incoming `chat.delta` be delivered, and what is the cursor afterwards?
 * Events of the cursor's turn at or below its `n` were already delivered (a replay after reconnect
 * overlaps): they are dropped. A pending `permission-request` is re-sent without `n` to a resuming
 * subscriber even when it was already delivered: one whose request id the cursor holds is dropped too.
 * Any other event of another turn, or without `n`, is new.
 */
export function advanceCursor(
  cursor: ChatCursor | undefined,
  event: AgentEvent,
  n: number | undefined,
): { deliver: boolean; cursor: ChatCursor | undefined } {
  if (!("turnId" in event)) return { deliver: true, cursor };
  const sameTurn = cursor !== undefined && cursor.turnId === event.turnId;
  if (n === undefined) {
    if (event.type !== "permission-request" || !cursor || !sameTurn) return { deliver: true, cursor };
    if (cursor.requests?.includes(event.requestId)) return { deliver: false, cursor };
    return { deliver: true, cursor: withRequest(cursor, event.requestId) };
  }
  if (sameTurn && n <= cursor.n) return { deliver: false, cursor };
  const next: ChatCursor = sameTurn ? { ...cursor, n } : { turnId: event.turnId, n };
  return {
    deliver: true,
    cursor: event.type === "permission-request" ? withRequest(next, event.requestId) : next,
  };
}
