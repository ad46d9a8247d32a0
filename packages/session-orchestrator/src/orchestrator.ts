import type { EventHandle, Logger } from "@dispatch/kernel";
import type { ConversationStatusResponse, QueuedMessage, ResumePoint } from "@dispatch/protocol/types";
import type { ModelCatalog } from "@dispatch/providers/contract";
import type { PermissionGate, ToolRegistry } from "@dispatch/tools/contract";
import { BackgroundTasks } from "./background";
import { CompactionRuns } from "./compaction-runs";
import type { OrchestratorConfig } from "./config";
import {
  type CancelQueuedResult,
  type ClockedEvent,
  type CompactOptions,
  type CompactResult,
  type ConversationListener,
  ConversationOpened,
  type EnqueueOptions,
  type EnqueueResult,
  type OpenResult,
  type Orchestrator,
  type ReplayEntry,
  type Result,
  type StartedTurn,
  type StartTurnRequest,
  type StopResult,
  type TurnSettled,
} from "./contract";
import { ConversationStates, type LiveTap } from "./conversation-states";
import type { HubEntry } from "./hub";
import type { ConversationQueue } from "./message-queue-surface";
import { fail, unknownConversation } from "./result";
import type { OrchestratorStores } from "./stores";
import { TurnLifecycle } from "./turn-lifecycle";

export interface OrchestratorDeps {
  store: OrchestratorStores;
  catalog: ModelCatalog;
  /** Absent: turns run without tools. */
  tools?: ToolRegistry;
  /**
   * Absent: every valid tool call runs unasked. The daemon always installs the tools package's gate;
   * bare setups (tests, embedding) may leave it out on purpose.
   */
  gate?: PermissionGate;
  config: OrchestratorConfig;
  logger: Logger;
  /** Emits kernel events (ctx.emit). */
  emit<T>(event: EventHandle<T>, payload: T): void;
  /** The cwd of conversations with neither their own cwd nor a workspace default. */
  defaultCwd: string;
  /** Epoch milliseconds, for records; default Date.now. */
  now?: () => number;
  /** Monotonic milliseconds, for metrics; default performance.now. */
  clock?: () => number;
  /** Sees every live event of every conversation once, from the hubs (the turn observer). */
  onLive?: LiveTap;
}

export class OrchestratorService implements Orchestrator {
  private readonly states: ConversationStates;
  private readonly turns: TurnLifecycle;
  private readonly background: BackgroundTasks;
  private readonly compactions: CompactionRuns;
  private readonly now: () => number;
  private readonly clock: () => number;
  private readonly log: Logger;

  constructor(private readonly deps: OrchestratorDeps) {
    this.now = deps.now ?? Date.now;
    this.clock = deps.clock ?? (() => performance.now());
    this.log = deps.logger;
    this.background = new BackgroundTasks(deps.logger);
    this.states = new ConversationStates({
      store: deps.store,
      logger: deps.logger,
      emit: (e, p) => deps.emit(e, p),
      replayBufferLimit: deps.config.replayBufferLimit,
      replayBufferChars: deps.config.replayBufferChars,
      ...(deps.onLive ? { onLive: deps.onLive } : {}),
    });
    this.compactions = new CompactionRuns({
      store: deps.store,
      catalog: deps.catalog,
      timeouts: deps.config.timeouts,
      logger: deps.logger,
      emit: (e, p) => deps.emit(e, p),
      states: this.states,
      background: this.background,
    });
    this.turns = new TurnLifecycle({
      store: deps.store,
      catalog: deps.catalog,
      ...(deps.tools ? { tools: deps.tools } : {}),
      ...(deps.gate ? { gate: deps.gate } : {}),
      config: deps.config,
      logger: deps.logger,
      emit: (e, p) => deps.emit(e, p),
      defaultCwd: deps.defaultCwd,
      states: this.states,
      now: this.now,
      clock: this.clock,
      background: this.background,
      compactions: this.compactions,
    });
    // Messages a crash left queued wait for the conversation's next turn (see restoreQueues).
    this.states.restoreQueues();
  }

  // ───────────────────────────── turns ─────────────────────────────

  startTurn(req: StartTurnRequest): Result<StartedTurn> {
    const r = this.turns.begin(req);
    return r.ok ? { ok: true, value: { conversationId: r.value.conversationId, turnId: r.value.turnId } } : r;
  }

  enqueue(conversationId: string, text: string, opts: EnqueueOptions = {}): Result<EnqueueResult> {
    if (typeof text !== "string" || text.trim() === "") {
      return fail("ORCH_INVALID_REQUEST", "enqueue: text must be a non-empty string");
    }
    const state = this.states.ensure(conversationId);
    if (!state.turn && !state.closing) {
      const started = this.turns.begin({
        conversationId,
        message: text,
        ...(opts.workspaceId !== undefined ? { workspaceId: opts.workspaceId } : {}),
      });
      if (!started.ok) return started;
      return {
        ok: true,
        value: {
          conversationId,
          startedTurn: true,
          turnId: started.value.turnId,
          messageId: started.value.messageId,
          queue: state.queue.list(),
        },
      };
    }
    if (this.deps.store.conversations.getConversation(conversationId)?.status === "closed" || state.closing) {
      return fail("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`);
    }
    const limit = this.deps.config.maxQueuedMessages;
    if (state.queue.size >= limit) {
      return fail(
        "ORCH_QUEUE_FULL",
        `conversation "${conversationId}" already has ${limit} queued messages (the maxQueuedMessages setting); wait for the turn or cancel some`,
      );
    }
    const message: QueuedMessage = { messageId: crypto.randomUUID(), text, createdAt: this.now() };
    // Durable before it is acknowledged: the daemon never drops an acknowledged message.
    const saved = this.deps.store.queue.enqueueMessage({
      conversationId,
      ...message,
      ...(opts.workspaceId !== undefined ? { workspaceId: opts.workspaceId } : {}),
    });
    if (!saved.ok) {
      const code = saved.error.code === "STORE_INVALID_INPUT" ? "ORCH_INVALID_REQUEST" : "ORCH_STORE_FAILED";
      return fail(code, saved.error.message);
    }
    state.queue.add(message);
    this.states.queueChanged(state);
    // A trace for the logs (ids and length, never the text).
    this.log.info("message queued", { conversationId, messageId: message.messageId, chars: text.length });
    return {
      ok: true,
      value: { conversationId, startedTurn: false, messageId: message.messageId, queue: state.queue.list() },
    };
  }

  cancelQueued(conversationId: string, messageId: string): CancelQueuedResult {
    const state = this.states.get(conversationId);
    if (!state?.queue.has(messageId))
      return { conversationId, cancelled: false, queue: state?.queue.list() ?? [] };
    const removed = this.deps.store.queue.removeQueuedMessage(conversationId, messageId);
    if (!removed.ok) {
      // Still queued in the store, so it stays queued here too (it will be delivered).
      this.log.error("queued message not cancelled", {
        conversationId,
        messageId,
        error: removed.error.message,
      });
      return { conversationId, cancelled: false, queue: state.queue.list() };
    }
    state.queue.cancel(messageId);
    this.states.queueChanged(state);
    return { conversationId, cancelled: true, queue: state.queue.list() };
  }

  queue(conversationId: string): QueuedMessage[] {
    return this.states.get(conversationId)?.queue.list() ?? [];
  }

  /** Every conversation with queued messages, with its title (the message-queue surface's global view). */
  allQueues(): ConversationQueue[] {
    const out: ConversationQueue[] = [];
    for (const state of this.states.values()) {
      if (state.queue.size === 0) continue;
      const title = this.deps.store.conversations.getConversation(state.id)?.title;
      out.push({ conversationId: state.id, queue: state.queue.list(), ...(title ? { title } : {}) });
    }
    return out;
  }

  stopTurn(conversationId: string): StopResult {
    const turn = this.states.get(conversationId)?.turn;
    if (!turn || turn.controller.signal.aborted) return { conversationId, abortedTurn: false };
    turn.controller.abort(new Error("stopped"));
    return { conversationId, abortedTurn: true };
  }

  async closeConversation(conversationId: string): Promise<Result<StopResult>> {
    if (!this.deps.store.conversations.getConversation(conversationId)) {
      return unknownConversation(conversationId);
    }
    const state = this.states.ensure(conversationId);
    state.closing = true;
    try {
      const cleared = this.deps.store.queue.clearQueuedMessages(conversationId);
      // Left in the store, they are dropped at the next boot (the conversation is closed by then).
      if (!cleared.ok)
        this.log.error("queue of a closing conversation not cleared", {
          conversationId,
          error: cleared.error.message,
        });
      state.queue.clear();
      this.states.queueChanged(state);
      const turn = state.turn;
      const abortedTurn = this.stopTurn(conversationId).abortedTurn;
      state.compacting?.controller.abort();
      if (turn) await turn.settled;
      if (state.compacting) await state.compacting.promise;
      if (this.deps.store.conversations.getConversation(conversationId))
        this.states.setStatus(state, "closed");
      return { ok: true, value: { conversationId, abortedTurn } };
    } finally {
      state.closing = false;
    }
  }

  openConversation(conversationId: string): Result<OpenResult> {
    const record = this.deps.store.conversations.getConversation(conversationId);
    if (!record) return unknownConversation(conversationId);
    const value = { conversationId, workspaceId: record.workspaceId };
    this.deps.emit(ConversationOpened, value);
    return { ok: true, value };
  }

  status(conversationId: string): ConversationStatusResponse | undefined {
    const record = this.deps.store.conversations.getConversation(conversationId);
    if (!record) return undefined;
    return {
      conversationId,
      isActive: this.states.get(conversationId)?.turn !== undefined,
      status: record.status,
    };
  }

  runningTurn(conversationId: string): string | undefined {
    return this.states.get(conversationId)?.turn?.turnId;
  }

  runningConversations(): string[] {
    const out: string[] = [];
    for (const state of this.states.values()) if (state.turn) out.push(state.id);
    return out;
  }

  whenSettled(conversationId: string, turnId?: string): Promise<TurnSettled | undefined> {
    const state = this.states.get(conversationId);
    if (state?.turn && (turnId === undefined || state.turn.turnId === turnId)) return state.turn.settled;
    if (turnId !== undefined && state?.lastSettled?.turnId === turnId)
      return Promise.resolve(state.lastSettled);
    return Promise.resolve(undefined);
  }

  // ───────────────────────────── fan-out ─────────────────────────────

  subscribe(conversationId: string, listener: ConversationListener, resume?: ResumePoint) {
    const state = this.states.ensure(conversationId);
    const off = state.hub.subscribe(listener, resume, (replayed) =>
      this.pendingNotIn(conversationId, replayed),
    );
    return () => {
      off();
      this.states.prune();
    };
  }

  get eventClock(): string {
    return this.states.recent.id;
  }

  eventsSince(clock: string, at: number): ClockedEvent[] | undefined {
    return this.states.recent.since(clock, at);
  }

  replay(conversationId: string, resume?: ResumePoint): ReplayEntry[] {
    const replayed = this.states.get(conversationId)?.hub.replay(resume) ?? [];
    return [...replayed, ...this.pendingNotIn(conversationId, replayed)];
  }

  /** Called with a conversation id whenever its queue changes (the message-queue surface listens). */
  onQueueChanged(listener: (conversationId: string) => void) {
    return this.states.onQueueChanged(listener);
  }

  private pendingNotIn(conversationId: string, replayed: HubEntry[]): HubEntry[] {
    const pending = this.deps.gate?.pending(conversationId) ?? [];
    if (pending.length === 0) return [];
    const seen = new Set(
      replayed.flatMap((e) => (e.event.type === "permission-request" ? [e.event.requestId] : [])),
    );
    return pending.filter((p) => !seen.has(p.requestId)).map((event) => ({ event }));
  }

  // ───────────────────────────── compaction ─────────────────────────────

  compact(conversationId: string, opts: CompactOptions = {}): Promise<Result<CompactResult>> {
    if (this.background.stopping)
      return Promise.resolve(fail("ORCH_SHUTTING_DOWN", "the daemon is shutting down"));
    const record = this.deps.store.conversations.getConversation(conversationId);
    if (!record) return Promise.resolve(unknownConversation(conversationId));
    if (record.status === "closed") {
      return Promise.resolve(fail("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`));
    }
    const state = this.states.ensure(conversationId);
    if (state.turn)
      return Promise.resolve(fail("ORCH_TURN_RUNNING", "a turn is already generating for this conversation"));
    if (state.compacting) {
      return Promise.resolve(
        fail("ORCH_COMPACTING", `conversation "${conversationId}" is already being compacted`),
      );
    }
    return this.compactions.start(state, opts.keepLastN ?? this.deps.config.keepLastN, false);
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async shutdown(): Promise<void> {
    this.background.stop();
    for (const state of this.states.values()) {
      state.turn?.controller.abort(new Error("shutdown"));
      state.compacting?.controller.abort();
    }
    await this.background.drain();
  }
}

export function createOrchestrator(deps: OrchestratorDeps): OrchestratorService {
  return new OrchestratorService(deps);
}
