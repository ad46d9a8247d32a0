import type { AppendMessage } from "@dispatch/conversation-store/contract";
import type { QueuedMessage } from "@dispatch/protocol/types";

/**
 * The in-memory mirror of one conversation's durable queue (the store's `queued_messages`), in arrival
 * order: what the message-queue surface lists and the status counts.
 *
 * The store is written first and this mirror only after the write committed, so the two never
 * disagree: `enqueueMessage` before `add`, `removeQueuedMessage` before `cancel`, and a delivery (the
 * turn loop's steering at a tool-result boundary, a turn that carries the queue, the shutdown path)
 * dequeues in the same transaction as the append that carries the messages, then calls `remove`.
 * At boot the orchestrator rebuilds the mirrors from the store.
 */
export class MessageQueue {
  private items: QueuedMessage[] = [];

  get size(): number {
    return this.items.length;
  }

  list(): QueuedMessage[] {
    return this.items.map((m) => ({ ...m }));
  }

  has(messageId: string): boolean {
    return this.items.some((m) => m.messageId === messageId);
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

  /** Removes delivered messages (by id). */
  remove(messageIds: readonly string[]): void {
    const gone = new Set(messageIds);
    this.items = this.items.filter((m) => !gone.has(m.messageId));
  }

  clear(): void {
    this.items = [];
  }
}

/** Pure: the text of one delivery of several queued messages (steering or a carried turn). */
export function joinQueued(messages: readonly Pick<QueuedMessage, "text">[]): string {
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
