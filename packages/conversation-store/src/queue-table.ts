/**
 * The durable message queue: messages sent while a turn runs wait in `queued_messages` until they are
 * delivered. Writes go through the store's transaction runner (one writer, all or nothing); delivery
 * is `dequeueMessages`, run inside appendStep's transaction so the queue row disappears exactly when
 * the message reaches the log.
 */
import type { QueuedMessageRecord, QueueMessageInput, Result } from "./contract";
import { fail, ok, unknownConversation } from "./result";
import { toQueued } from "./rows";
import type { Statements } from "./statements";
import { KeySchema, parseInput, QueueMessageSchema } from "./validation";

type Write = <T>(fn: () => Result<T>) => Result<T>;

export class QueueTable {
  constructor(
    private readonly s: Statements,
    private readonly write: Write,
  ) {}

  enqueueMessage(input: QueueMessageInput): Result<QueuedMessageRecord> {
    const p = parseInput(QueueMessageSchema, input, "enqueueMessage");
    if (!p.ok) return p;
    const m = p.value;
    return this.write(() => {
      const key = { id: m.conversationId, messageId: m.messageId };
      if (!this.s.conversationExists.get(m.conversationId)) {
        return unknownConversation(m.conversationId, "enqueueMessage");
      }
      if (this.s.queuedExists.get(key) || this.s.messageRole.get(key)) {
        return fail(
          "STORE_MESSAGE_EXISTS",
          `enqueueMessage: message "${m.messageId}" is already queued in or part of conversation "${m.conversationId}"`,
        );
      }
      const row = this.s.insertQueued.get({
        ...key,
        text: m.text,
        workspace: m.workspaceId ?? null,
        createdAt: m.createdAt,
      });
      return row ? ok(toQueued(row)) : fail("STORE_WRITE_FAILED", `message "${m.messageId}" was not queued`);
    });
  }

  removeQueuedMessage(conversationId: string, messageId: string): Result<boolean> {
    const c = parseInput(KeySchema, conversationId, "removeQueuedMessage conversationId");
    if (!c.ok) return c;
    const m = parseInput(KeySchema, messageId, `removeQueuedMessage "${conversationId}" messageId`);
    if (!m.ok) return m;
    return this.write(() => ok(this.s.deleteQueued.run({ id: conversationId, messageId }).changes > 0));
  }

  clearQueuedMessages(conversationId: string): Result<number> {
    const c = parseInput(KeySchema, conversationId, "clearQueuedMessages conversationId");
    if (!c.ok) return c;
    return this.write(() => ok(this.s.clearQueued.run(conversationId).changes));
  }

  listQueuedMessages(conversationId: string): QueuedMessageRecord[] {
    if (typeof conversationId !== "string") return [];
    return this.s.queuedOf.all(conversationId).map(toQueued);
  }

  listAllQueuedMessages(): QueuedMessageRecord[] {
    return this.s.allQueued.all().map(toQueued);
  }
}

/**
 * Removes delivered messages from the queue; to run inside the delivering write's transaction. Fails
 * (so the caller rolls everything back) when one is not queued: it was cancelled or already delivered,
 * and delivering it again would duplicate it.
 */
export function dequeueMessages(
  s: Statements,
  conversationId: string,
  messageIds: readonly string[],
  what: string,
): Result<void> {
  for (const messageId of messageIds) {
    if (s.deleteQueued.run({ id: conversationId, messageId }).changes === 0) {
      return fail(
        "STORE_UNKNOWN_QUEUED_MESSAGE",
        `${what} "${conversationId}" dequeue: message "${messageId}" is not queued (cancelled or already delivered)`,
      );
    }
  }
  return ok(undefined);
}
