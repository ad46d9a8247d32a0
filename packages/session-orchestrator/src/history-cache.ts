import type { AppendResult, HistoryMessage, Result } from "@dispatch/conversation-store/contract";
import type { OrchestratorStores } from "./stores";

/**
 * The model-facing history of one conversation, held in memory across the steps (and turns) of this
 * process, so a step costs the same on a conversation of 100 chunks and of 100 000: the log is read
 * once, then every write of ours extends the held view with what it appended (`AppendResult.view`,
 * asked with `AppendOptions.view`).
 *
 * Correctness does not depend on every writer telling us: each `read` compares the held view's end
 * with the conversation record (`lastSeq`, `historyStartSeq`: one primary-key lookup), and any write
 * not reported here (a compaction, a copy, another process) makes it read the log again.
 *
 * The returned array is the held one: it grows in place when a later write of ours is appended (a
 * copy per step would cost time proportional to the history again). It is the request's `messages`
 * for the duration of one model call (ModelRequest); whoever keeps it longer must copy it.
 */
export class HistoryCache {
  private held: { messages: HistoryMessage[]; lastSeq: number; startSeq: number } | undefined;

  constructor(
    private readonly conversationId: string,
    private readonly store: Pick<OrchestratorStores, "conversations" | "log">,
  ) {}

  /** The view `loadHistory` would return now. */
  read(): Result<readonly HistoryMessage[]> {
    const record = this.store.conversations.getConversation(this.conversationId);
    const held = this.held;
    if (held && record && record.lastSeq === held.lastSeq && record.historyStartSeq === held.startSeq) {
      return { ok: true, value: held.messages };
    }
    const history = this.store.log.loadHistory(this.conversationId);
    if (!history.ok) {
      this.held = undefined;
      return history;
    }
    this.held = record
      ? { messages: history.value.messages, lastSeq: record.lastSeq, startSeq: record.historyStartSeq }
      : undefined;
    return { ok: true, value: history.value.messages };
  }

  /** A write of ours succeeded: the held view grows by its `view`, or is dropped when it cannot. */
  appended(result: AppendResult): void {
    const held = this.held;
    if (!held || !result.view || result.firstSeq !== held.lastSeq + 1) {
      this.held = undefined;
      return;
    }
    for (const m of result.view) held.messages.push(m);
    held.lastSeq = result.lastSeq;
  }

  /** Frees the held view (the conversation went quiet); the next read loads the log. */
  drop(): void {
    this.held = undefined;
  }
}
