import type { ConversationStatus } from "@dispatch/protocol/types";

export interface StatusInputs {
  closed: boolean;
  /** A turn is generating. */
  running: boolean;
  /** Messages wait in the queue. */
  queued: number;
}

/**
 * Pure: the status a conversation shows.
 * closed wins; a running turn with waiting messages is `queued`; a running turn alone is `active`;
 * otherwise `idle` (a non-empty queue without a turn never lasts: it is carried into a new turn).
 */
export function deriveStatus(s: StatusInputs): ConversationStatus {
  if (s.closed) return "closed";
  if (s.running) return s.queued > 0 ? "queued" : "active";
  return "idle";
}
