import type { QueuedMessageRecord } from "@dispatch/conversation-store/contract";
import type { EventHandle, Logger } from "@dispatch/kernel";
import type { AgentEvent, ConversationStatus, QueuedMessage } from "@dispatch/protocol/types";
import { type CompactResult, ConversationStatusChanged, type Result, type TurnSettled } from "./contract";
import type { HistoryCache } from "./history-cache";
import { ConversationHub } from "./hub";
import { MessageQueue } from "./queue";
import { RecentEvents } from "./recent-events";
import { messageOf } from "./run-tool";
import { deriveStatus } from "./status";
import type { OrchestratorStores } from "./stores";

export interface RunningTurn {
  turnId: string;
  controller: AbortController;
  startedAt: number;
  settled: Promise<TurnSettled>;
}

/** What this process holds for one conversation. */
export interface ConversationState {
  id: string;
  hub: ConversationHub;
  queue: MessageQueue;
  turn?: RunningTurn;
  /** closeConversation is in progress: no new turn, no carry. */
  closing: boolean;
  compacting?: { promise: Promise<Result<CompactResult>>; controller: AbortController };
  lastSettled?: TurnSettled;
  /** The model-facing history held between steps and turns (made by the first turn). */
  history?: HistoryCache;
}

export interface ConversationStatesDeps {
  store: Pick<OrchestratorStores, "conversations" | "queue">;
  logger: Logger;
  emit<T>(event: EventHandle<T>, payload: T): void;
  replayBufferLimit: number;
  /** Characters of one turn kept for replay (see ConversationHubOptions). */
  replayBufferChars?: number;
  /**
   * Sees every live event of every conversation once, after its watchers (each hub's `onLive`): the
   * turn observer. There is no listener set: the hubs are the one source of conversation events.
   */
  onLive?: LiveTap;
  /** Numbered events kept across conversations for wildcard streams' resume (default RECENT_EVENTS). */
  recentEvents?: number;
}

/** Every live event of every conversation, with its conversation and `n`. */
export type LiveTap = (conversationId: string, event: AgentEvent, n: number | undefined) => void;

/** Idle conversations (no turn, no listener, empty queue) whose hub is kept for a late `resume`. */
const RETAINED_IDLE = 256;

/**
 * The in-memory side of the conversations: their hubs (the one source of conversation events; `onLive`
 * taps all of them), queues and running turns, the queue listeners, and the status each conversation shows (persisted, then announced as a `status`
 * event and a ConversationStatusChanged kernel event with the persisted workspace).
 */
export class ConversationStates {
  private readonly states = new Map<string, ConversationState>();
  private readonly queueListeners = new Set<(conversationId: string) => void>();
  /** The hubs' shared clock and the recent numbered events of all of them. */
  readonly recent: RecentEvents;

  constructor(private readonly deps: ConversationStatesDeps) {
    this.recent = new RecentEvents(deps.recentEvents);
  }

  get(conversationId: string): ConversationState | undefined {
    return this.states.get(conversationId);
  }

  ensure(conversationId: string): ConversationState {
    let s = this.states.get(conversationId);
    if (!s) {
      this.prune();
      const tap = this.deps.onLive;
      const recent = this.recent;
      s = {
        id: conversationId,
        hub: new ConversationHub(conversationId, {
          replayBufferLimit: this.deps.replayBufferLimit,
          ...(this.deps.replayBufferChars !== undefined
            ? { replayBufferChars: this.deps.replayBufferChars }
            : {}),
          logger: this.deps.logger,
          clock: recent,
          onLive: (event: AgentEvent, n: number | undefined, at?: number) => {
            if (n !== undefined && at !== undefined) recent.record({ conversationId, event, n, at });
            tap?.(conversationId, event, n);
          },
        }),
        queue: new MessageQueue(),
        closing: false,
      };
      this.states.set(conversationId, s);
    }
    return s;
  }

  /**
   * Rebuilds the in-memory queues from the durable one (at boot, after the store's recovery). Messages
   * a crash left queued are NOT started unattended: a turn on a paid model nobody is watching would
   * surprise the user, who may also no longer want them. They stay queued, listed (and cancellable) in
   * the `message-queue` surface, and go ahead of the next message when the conversation's next turn
   * starts. Queues of closed conversations are dropped. Returns the number of messages restored.
   */
  restoreQueues(): number {
    let rows: QueuedMessageRecord[];
    try {
      rows = this.deps.store.queue.listAllQueuedMessages();
    } catch (e) {
      this.deps.logger.error("queued messages not restored (they stay in the store)", {
        error: messageOf(e),
      });
      return 0;
    }
    const byConversation = new Map<string, QueuedMessageRecord[]>();
    for (const row of rows) {
      const list = byConversation.get(row.conversationId) ?? [];
      list.push(row);
      byConversation.set(row.conversationId, list);
    }
    let restored = 0;
    let conversations = 0;
    for (const [conversationId, queued] of byConversation) {
      if (this.deps.store.conversations.getConversation(conversationId)?.status === "closed") {
        const r = this.deps.store.queue.clearQueuedMessages(conversationId);
        if (!r.ok)
          this.deps.logger.error("queue of a closed conversation not cleared", {
            conversationId,
            error: r.error.message,
          });
        continue;
      }
      const state = this.ensure(conversationId);
      for (const m of queued)
        state.queue.add({ messageId: m.messageId, text: m.text, createdAt: m.createdAt });
      restored += queued.length;
      conversations += 1;
    }
    if (restored > 0) {
      this.deps.logger.info("queued messages restored; each goes with its conversation's next turn", {
        conversations,
        messages: restored,
      });
    }
    return restored;
  }

  values(): IterableIterator<ConversationState> {
    return this.states.values();
  }

  onQueueChanged(listener: (conversationId: string) => void): () => void {
    this.queueListeners.add(listener);
    return () => {
      this.queueListeners.delete(listener);
    };
  }

  /**
   * Drops delivered messages from the mirror (the store dequeued them with the write that delivered
   * them); `refresh` also updates the status (not when a turn that carries them is starting).
   */
  removeDelivered(state: ConversationState, delivered: readonly QueuedMessage[], refresh = true): void {
    if (delivered.length === 0) return;
    state.queue.remove(delivered.map((m) => m.messageId));
    this.queueChanged(state, refresh);
  }

  queueChanged(state: ConversationState, refresh = true): void {
    if (refresh) this.refreshStatus(state);
    this.tellQueueListeners(state.id);
  }

  /** Persists and announces the status derived from the in-memory state, when it changed. */
  refreshStatus(state: ConversationState): void {
    this.persistStatus(state)?.();
  }

  setStatus(state: ConversationState, status: ConversationStatus): void {
    this.writeStatus(state, status)?.();
  }

  /**
   * Persists the derived status when it changed and returns the announcement (a `status` event and
   * ConversationStatusChanged with the persisted workspace) for the caller to make: the end of a turn
   * writes before `turn-sealed` and announces after it, so `done` is directly followed by `turn-sealed`.
   */
  persistStatus(state: ConversationState): (() => void) | undefined {
    const derived = deriveStatus({ closed: false, running: !!state.turn, queued: state.queue.size });
    return this.writeStatus(state, derived, true);
  }

  private writeStatus(
    state: ConversationState,
    status: ConversationStatus,
    keepClosed = false,
  ): (() => void) | undefined {
    const current = this.deps.store.conversations.getConversation(state.id);
    if (!current || current.status === status || (keepClosed && current.status === "closed"))
      return undefined;
    const r = this.deps.store.conversations.updateConversation(state.id, { status });
    if (!r.ok) {
      this.deps.logger.error("status not persisted", {
        conversationId: state.id,
        status,
        error: r.error.message,
      });
      return undefined;
    }
    const workspaceId = r.value.workspaceId;
    return () => {
      state.hub.publish({ type: "status", conversationId: state.id, status });
      this.deps.emit(ConversationStatusChanged, { conversationId: state.id, status, workspaceId });
    };
  }

  /** Forgets idle conversations beyond the retention bound (oldest first). */
  prune(): void {
    if (this.states.size <= RETAINED_IDLE) return;
    for (const [id, s] of this.states) {
      if (this.states.size <= RETAINED_IDLE) return;
      if (!s.turn && !s.compacting && !s.closing && s.queue.size === 0 && s.hub.listenerCount === 0) {
        this.states.delete(id);
      }
    }
  }

  /** Tells every queue listener; a throwing one is logged and never stops the others. */
  private tellQueueListeners(conversationId: string): void {
    for (const listener of [...this.queueListeners]) {
      try {
        listener(conversationId);
      } catch (e) {
        this.deps.logger.error("queue listener threw", { error: messageOf(e) });
      }
    }
  }
}
