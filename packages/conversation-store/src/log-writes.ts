/**
 * The log's two writes, to run inside the store's write transaction (they open none themselves): a
 * failed Result or a throw means the caller's transaction rolls back, so nothing is half-written.
 * Seqs continue from the conversation's `last_seq`, one per chunk, so they stay gap-free.
 */
import type { AppendMessage, AppendResult, CopyResult, Result } from "./contract";
import { type LogRow, reconcile } from "./reconcile";
import { fail, ok, serialize } from "./result";
import type { ConversationRow } from "./rows";
import type { Statements } from "./statements";

export interface AppendContext {
  /** Title for a conversation that has none yet (from the step's first user text). */
  title: string | undefined;
  /** The conversation's new lastActivityAt. */
  at: number;
  /** Operation name for error messages. */
  what: string;
  /** Also return the reconciled view of the appended chunks (AppendResult.view). */
  view?: boolean;
}

/** Appends `messages` after `conv.last_seq` and advances the conversation. */
export function appendMessages(
  s: Statements,
  conv: ConversationRow,
  messages: readonly AppendMessage[],
  ctx: AppendContext,
): Result<AppendResult> {
  const id = conv.id;
  const firstSeq = conv.last_seq + 1;
  let seq = conv.last_seq;
  // The rows as a read would decode them (the stored JSON parsed back), for the view.
  let rows: LogRow[] | undefined = ctx.view ? [] : undefined;
  for (const [i, m] of messages.entries()) {
    const known = s.messageRole.get({ id, messageId: m.messageId });
    if (known && known.role !== m.role) {
      return fail(
        "STORE_INVALID_INPUT",
        `${ctx.what} "${id}" messages.${i}: message "${m.messageId}" is ${known.role}, not ${m.role}`,
      );
    }
    // A chunk joining a message already in the log changes that message: no view of the step alone.
    if (known) rows = undefined;
    if (!known) {
      s.insertMessage.run({
        id,
        messageId: m.messageId,
        role: m.role,
        turnId: m.turnId ?? null,
        firstSeq: seq + 1,
      });
    }
    for (const [j, chunk] of m.chunks.entries()) {
      const json = serialize(chunk);
      if (json === undefined) {
        return fail(
          "STORE_INVALID_INPUT",
          `${ctx.what} "${id}" messages.${i}.chunks.${j}: chunk is not JSON-serializable`,
        );
      }
      seq += 1;
      s.insertChunk.run({ id, seq, messageId: m.messageId, role: m.role, chunk: json });
      if (rows) {
        const row: LogRow = { seq, messageId: m.messageId, role: m.role, chunk: JSON.parse(json) };
        if (m.turnId !== undefined) row.turnId = m.turnId;
        rows.push(row);
      }
    }
  }
  s.advanceConversation.run({ id, lastSeq: seq, activity: ctx.at, title: ctx.title ?? null });
  return ok(rows ? { firstSeq, lastSeq: seq, view: reconcile(rows) } : { firstSeq, lastSeq: seq });
}

/** Copies `src`'s chunks `[from, uptoSeq]` (clamped to its log) to the end of `dst`. */
export function copyRange(
  s: Statements,
  src: ConversationRow,
  dst: ConversationRow,
  from: number,
  uptoSeq: number,
): CopyResult {
  const upto = Math.min(uptoSeq, src.last_seq);
  if (upto < from) return { chunks: 0, messages: 0, firstSeq: 0, lastSeq: 0 };
  const args = { src: src.id, to: dst.id, base: dst.last_seq, from, upto };
  const messages = s.copyMessages.run(args).changes;
  const chunks = s.copyChunks.run(args).changes;
  const lastSeq = dst.last_seq + chunks;
  s.setLastSeq.run({ id: dst.id, lastSeq });
  return { chunks, messages, firstSeq: dst.last_seq + 1, lastSeq };
}
