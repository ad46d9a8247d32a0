import type { EventHandle, Logger } from "@dispatch/kernel";
import type { BackgroundTasks } from "./background";
import { type CompactDeps, compactConversation } from "./compaction";
import { type CompactResult, ConversationCompacted, type Result } from "./contract";
import type { ConversationState, ConversationStates } from "./conversation-states";
import { fail } from "./result";
import { messageOf } from "./run-tool";

/** What a compaction run needs; the orchestrator and the turn lifecycle both start runs. */
export interface CompactionRunsDeps extends CompactDeps {
  logger: Logger;
  emit<T>(event: EventHandle<T>, payload: T): void;
  states: Pick<ConversationStates, "prune">;
  background: BackgroundTasks;
}

/**
 * Runs compactions of a conversation (asked for, or automatic after a turn whose context grew past
 * the threshold). While one runs it is `state.compacting` (abortable); when it ends, successful or not,
 * that is cleared, so a later compaction is never refused because of a failed one. The caller checks
 * whether one may start (no turn, none running).
 */
export class CompactionRuns {
  constructor(private readonly deps: CompactionRunsDeps) {}

  start(state: ConversationState, keepLastN: number, auto: boolean): Promise<Result<CompactResult>> {
    const { deps } = this;
    const controller = new AbortController();
    const compactDeps = { store: deps.store, catalog: deps.catalog, timeouts: deps.timeouts };
    const promise = compactConversation(compactDeps, state.id, keepLastN, controller.signal)
      // Only a bug throws here; it must still end the compaction, or every later one is refused.
      .catch((e: unknown) => {
        deps.logger.error("compaction threw", { conversationId: state.id, error: messageOf(e) });
        return fail<CompactResult>("ORCH_COMPACTION_FAILED", `compaction failed: ${messageOf(e)}`);
      })
      .then((r) => {
        if (state.compacting?.promise === promise) state.compacting = undefined;
        if (r.ok) deps.emit(ConversationCompacted, r.value);
        else if (auto)
          deps.logger.warn("automatic compaction failed", {
            conversationId: state.id,
            error: r.error.message,
          });
        deps.states.prune();
        return r;
      });
    state.compacting = { promise, controller };
    deps.background.track(promise);
    return promise;
  }
}
