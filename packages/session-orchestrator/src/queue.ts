import type { AppendMessage } from "@dispatch/conversation-store/contract";
import type { QueuedMessage } from "@dispatch/protocol/types";

/**
 * Messages waiting for a running turn of one conversation, in arrival order.
 *
 * `drain` empties the queue in one go: the turn loop calls it at a tool-result boundary (the messages
 * become one `steering` delivery) and the orchestrator when a turn ends (they are carried into a new
 * turn). The queue lives in memory. A clean shutdown writes it into the history (the orchestrator's
 * `keepQueueAtShutdown`); a crash loses it, together with the unfinished step of the turn it waited for.
 */
export class MessageQueue {
  private items: QueuedMessage[] = [];

  get size(): number {
    return this.items.length;
  }

  list(): QueuedMessage[] {
    return this.items.map((m) => ({ ...m }));
  }

  add(message: QueuedMessage): void {
    this.items.push({ ...message });
  }

  /** Removes the message; false when it is not (or no longer) queued. */
  cancel(messageId: string): boolean {
    const before = this.items.length;
    this.items = this.items.filter((m) => m.messageId !== messageId);
    return this.items.length !== before;
  }

  drain(): QueuedMessage[] {
    const out = this.items;
    this.items = [];
    return out;
  }

  clear(): void {
    this.items = [];
  }
}

/** Pure: the text of one delivery of several queued messages (steering or a carried turn). */
export function joinQueued(messages: readonly QueuedMessage[]): string {
  return messages.map((m) => m.text).join("\n\n");
}

/** Pure: queued messages as the user messages of turn `turnId` (steering), keeping their ids. */
export function steeringMessages(messages: readonly QueuedMessage[], turnId: string): AppendMessage[] {
  return messages.map((m) => ({
    messageId: m.messageId,
    role: "user",
    chunks: [{ type: "text", text: m.text }],
    turnId,
  }));
}
