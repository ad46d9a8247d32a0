import type { AgentEvent } from "@dispatch/protocol/types";

/** Where a watcher of one conversation is: the last turn it saw an event of, and that event's index. */
export interface ChatCursor {
  turnId: string;
  n: number;
}

/**
 * Pure: should an incoming `chat.delta` be delivered, and what is the cursor afterwards?
 * Events of the cursor's turn at or below its `n` were already delivered (a replay after reconnect
 * overlaps): they are dropped. An event of another turn, or one without `n`, is new.
 */
export function advanceCursor(
  cursor: ChatCursor | undefined,
  event: AgentEvent,
  n: number | undefined,
): { deliver: boolean; cursor: ChatCursor | undefined } {
  if (n === undefined || !("turnId" in event)) return { deliver: true, cursor };
  if (cursor && cursor.turnId === event.turnId && n <= cursor.n) return { deliver: false, cursor };
  return { deliver: true, cursor: { turnId: event.turnId, n } };
}
