import type { ConversationRecord, ConversationStore } from "@dispatch/conversation-store";
import type { EventHandle, Logger } from "@dispatch/kernel";
import type {
  AgentEvent,
  ConversationStatusResponse,
  PermissionDecision,
  QueuedMessage,
  ResumePoint,
} from "@dispatch/protocol/types";
import type { LanguageModel, ModelCatalog } from "@dispatch/providers";
import type { PermissionGate, ToolRegistry } from "@dispatch/tools";
import { compactConversation, shouldAutoCompact } from "./compaction";
import { DEFAULT_SYSTEM_PROMPT, type OrchestratorConfig } from "./config";
import {
  type CancelQueuedResult,
  type CompactOptions,
  type CompactResult,
  ConversationCompacted,
  type ConversationListener,
  ConversationOpened,
  type ConversationSettings,
  type EnqueueOptions,
  type EnqueueResult,
  type GlobalConversationListener,
  type OpenResult,
  type Orchestrator,
  type ReplayEntry,
  type Result,
  type SettingsPatch,
  type StartedTurn,
  type StartTurnRequest,
  type StopResult,
  TurnSettled,
  TurnStarted,
} from "./contract";
import { type ConversationState, ConversationStates, type RunningTurn } from "./conversation-states";
import type { HubEntry } from "./hub";
import { joinQueued, steeringMessages } from "./queue";
import { fail, unknownConversation } from "./result";
import { messageOf } from "./run-tool";
import { effectiveCwd, settingsOf } from "./settings";
import { guard } from "./timeouts";
import { runTurnLoop, type TurnOutcome } from "./turn-loop";
import {
  crashedOutcome,
  doneEvent,
  initialSettings,
  stickyPatch,
  turnEnd,
  userMessageChunks,
} from "./turn-records";

/** A turn request; `message: null` carries the queued messages alone. */
type TurnRequest = Omit<StartTurnRequest, "message"> & { message: string | null };

export interface OrchestratorDeps {
  store: ConversationStore;
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
}

export class OrchestratorService implements Orchestrator {
  private readonly states: ConversationStates;
  private readonly background = new Set<Promise<unknown>>();
  private shuttingDown = false;
  private readonly now: () => number;
  private readonly clock: () => number;
  private readonly log: Logger;

  constructor(private readonly deps: OrchestratorDeps) {
    this.now = deps.now ?? Date.now;
    this.clock = deps.clock ?? (() => performance.now());
    this.log = deps.logger;
    this.states = new ConversationStates({
      store: deps.store,
      logger: deps.logger,
      emit: (e, p) => deps.emit(e, p),
      replayBufferLimit: deps.config.replayBufferLimit,
    });
    // Messages a crash left queued wait for the conversation's next turn (see restoreQueues).
    this.states.restoreQueues();
  }

  // ───────────────────────────── turns ─────────────────────────────

  startTurn(req: StartTurnRequest): Result<StartedTurn> {
    const r = this.begin(req);
    return r.ok ? { ok: true, value: { conversationId: r.value.conversationId, turnId: r.value.turnId } } : r;
  }

  /**
   * Starts a turn whose user message is the conversation's queued messages (if any: they were sent
   * first) followed by `req.message`; `message: null` starts one with the queued messages alone (the
   * carry). The queued messages leave the durable queue in the transaction that appends the message.
   */
  private begin(req: TurnRequest): Result<StartedTurn & { messageId: string }> {
    if (this.shuttingDown) return fail("ORCH_SHUTTING_DOWN", "the daemon is shutting down; no new turns");
    if (req.message !== null && (typeof req.message !== "string" || req.message.trim() === "")) {
      return fail("ORCH_INVALID_REQUEST", "startTurn: message must be a non-empty string");
    }
    const conversationId = req.conversationId ?? crypto.randomUUID();
    const state = this.states.ensure(conversationId);
    if (state.turn) return fail("ORCH_TURN_RUNNING", "a turn is already generating for this conversation");
    const queued = state.queue.list();
    if (req.message === null && queued.length === 0) {
      return fail("ORCH_INVALID_REQUEST", `conversation "${conversationId}" has no queued messages to carry`);
    }
    const record = this.deps.store.getConversation(conversationId);
    if (record?.status === "closed" || state.closing) {
      return fail("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`);
    }
    const modelName = req.model ?? record?.model ?? this.deps.catalog.defaultModel();
    const resolved = this.deps.catalog.resolve(modelName);
    if (!resolved.ok) return fail("ORCH_UNKNOWN_MODEL", resolved.error.message);

    // Per-turn settings override the sticky ones and are remembered.
    if (record) {
      const patch = stickyPatch(record, req, modelName);
      if (Object.keys(patch).length > 0) {
        const u = this.deps.store.updateConversation(conversationId, patch);
        if (!u.ok) return fail("ORCH_STORE_FAILED", u.error.message);
      }
    }

    const turnId = crypto.randomUUID();
    const messageId = crypto.randomUUID();
    const text = joinQueued(req.message === null ? queued : [...queued, { text: req.message }]);
    const dequeue = queued.map((m) => m.messageId);
    const appended = this.deps.store.appendStep(
      conversationId,
      [{ messageId, role: "user", chunks: userMessageChunks({ ...req, message: text }), turnId }],
      initialSettings(req, modelName),
      dequeue.length > 0 ? { dequeue } : {},
    );
    if (!appended.ok) return fail("ORCH_STORE_FAILED", appended.error.message);
    this.states.removeDelivered(state, queued, false);
    const startedAt = this.now();
    const begun = this.deps.store.beginTurn({ turnId, conversationId, startedAt });
    if (!begun.ok)
      this.log.error("turn not recorded", { conversationId, turnId, error: begun.error.message });

    const conv = this.deps.store.getConversation(conversationId);
    const cwd = effectiveCwd(this.deps.store, conv, this.deps.defaultCwd);
    const controller = new AbortController();
    let settle: (s: TurnSettled) => void = () => {};
    const turn: RunningTurn = {
      turnId,
      controller,
      startedAt,
      settled: new Promise<TurnSettled>((r) => {
        settle = r;
      }),
    };
    state.turn = turn;
    state.hub.beginTurn(turnId);
    const base = { conversationId, turnId };
    state.hub.publish({ ...base, type: "user-message", text });
    state.hub.publish({ ...base, type: "turn-start" });
    this.deps.emit(TurnStarted, { conversationId, turnId });
    this.states.refreshStatus(state);

    const run = this.runTurn(state, turn, resolved.value, {
      cwd,
      ...(conv?.reasoningEffort ? { reasoningEffort: conv.reasoningEffort } : {}),
    }).then(settle, (e: unknown) => {
      // Only a bug gets here (every step of runTurn handles its failures); never leave the turn hanging.
      this.log.error("turn did not settle cleanly", { conversationId, turnId, error: messageOf(e) });
      if (state.turn === turn) state.turn = undefined;
      state.hub.endTurn(turnId);
      settle({ conversationId, turnId, reason: "error" });
    });
    this.track(run);
    return { ok: true, value: { conversationId, turnId, messageId } };
  }

  private async runTurn(
    state: ConversationState,
    turn: RunningTurn,
    model: LanguageModel,
    opts: { cwd: string; reasoningEffort?: ConversationRecord["reasoningEffort"] },
  ): Promise<TurnSettled> {
    const { id: conversationId } = state;
    const { turnId } = turn;
    const emit = (event: AgentEvent) => {
      state.hub.publish(event);
    };
    let outcome: TurnOutcome;
    try {
      // A compaction that was running when the turn started finishes first (its view includes our message).
      if (state.compacting)
        await guard(state.compacting.promise, { signal: turn.controller.signal }).catch(() => {});
      outcome = await runTurnLoop(
        {
          store: this.deps.store,
          model,
          tools: () => this.deps.tools?.list() ?? [],
          gate: this.deps.gate,
          config: this.deps.config,
          logger: this.log.child({ conversationId, turnId }),
          clock: this.clock,
        },
        {
          conversationId,
          turnId,
          cwd: opts.cwd,
          ...(opts.reasoningEffort ? { reasoningEffort: opts.reasoningEffort } : {}),
          system: (this.deps.config.systemPrompt ?? DEFAULT_SYSTEM_PROMPT).replaceAll("{cwd}", opts.cwd),
          signal: turn.controller.signal,
          emit,
          pendingSteering: () => state.queue.list(),
          steeringDelivered: (delivered) => this.states.removeDelivered(state, delivered),
        },
      );
    } catch (e) {
      // A bug in the loop: the turn still ends properly.
      this.log.error("turn loop failed", { conversationId, turnId, error: messageOf(e) });
      const message = `internal error: ${messageOf(e)}`;
      emit({ conversationId, turnId, type: "error", message });
      outcome = crashedOutcome(message);
    }
    if (this.shuttingDown && !state.closing) this.keepQueueAtShutdown(state, turnId, emit);
    const endedAt = this.now();
    emit(doneEvent({ conversationId, turnId }, outcome, endedAt - turn.startedAt));
    const ended = this.deps.store.endTurn(turnId, turnEnd(outcome, endedAt));
    if (!ended.ok)
      this.log.error("turn end not recorded", { conversationId, turnId, error: ended.error.message });

    // Queued messages are carried into a new turn unless the conversation is closing or the daemon stops.
    const carry = !state.closing && !this.shuttingDown && state.queue.size > 0;
    state.turn = undefined;
    // The status is written before `turn-sealed` (the last write) and announced after it.
    const announce = !carry && !state.closing ? this.states.persistStatus(state) : undefined;
    emit({ conversationId, turnId, type: "turn-sealed" });
    state.hub.endTurn(turnId);
    // A listener of `turn-sealed` may have started the next turn, which announced its own status.
    if (!state.turn) announce?.();
    const settled: TurnSettled = {
      conversationId,
      turnId,
      reason: outcome.reason,
      ...(outcome.usage ? { usage: outcome.usage } : {}),
    };
    state.lastSettled = settled;
    this.deps.emit(TurnSettled, settled);

    const compact =
      !state.closing &&
      !this.shuttingDown &&
      !state.turn &&
      shouldAutoCompact(outcome.lastInputTokens, model.info.contextWindow, this.deps.config.autoCompactShare);
    if (compact) this.startCompaction(state, this.deps.config.keepLastN, true);
    if (carry) this.carry(state);
    this.states.prune();
    return settled;
  }

  /**
   * Shutdown starts no new turn, so the queue cannot be carried. Its messages are written into the ending
   * turn instead (as `steering`, before `done`, dequeued in the same transaction): the restarted daemon
   * finds them in the history and the model reads them with the next message. Should that write fail,
   * they simply stay in the durable queue and the restarted daemon delivers them with the next turn.
   */
  private keepQueueAtShutdown(state: ConversationState, turnId: string, emit: (e: AgentEvent) => void): void {
    const queued = state.queue.list();
    if (queued.length === 0) return;
    const conversationId = state.id;
    const dequeue = queued.map((m) => m.messageId);
    const written = this.deps.store.appendStep(
      conversationId,
      steeringMessages(queued, turnId),
      {},
      { dequeue },
    );
    if (!written.ok) {
      this.log.error("queued messages not written into the stopped turn; they stay queued", {
        conversationId,
        count: queued.length,
        error: written.error.message,
      });
      return;
    }
    this.states.removeDelivered(state, queued, false);
    for (const m of queued) emit({ conversationId, turnId, type: "steering", text: m.text });
    this.log.info("queued messages kept in the history at shutdown", {
      conversationId,
      count: queued.length,
    });
  }

  /**
   * Starts a turn with the messages that waited for the previous one. A listener of the ended turn may
   * have started one already (which took them along). When no turn can start (the model is gone, a
   * store failure) they stay queued, in the store too, for the next turn.
   */
  private carry(state: ConversationState): void {
    if (state.turn || state.queue.size === 0) return;
    const r = this.begin({ conversationId: state.id, message: null });
    if (r.ok) return;
    this.log.warn("queued messages not carried into a new turn; they stay queued", {
      conversationId: state.id,
      error: r.error.message,
    });
    this.states.refreshStatus(state);
  }

  enqueue(conversationId: string, text: string, opts: EnqueueOptions = {}): Result<EnqueueResult> {
    if (typeof text !== "string" || text.trim() === "") {
      return fail("ORCH_INVALID_REQUEST", "enqueue: text must be a non-empty string");
    }
    const state = this.states.ensure(conversationId);
    if (!state.turn && !state.closing) {
      const started = this.begin({
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
    if (this.deps.store.getConversation(conversationId)?.status === "closed" || state.closing) {
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
    const saved = this.deps.store.enqueueMessage({
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
    const removed = this.deps.store.removeQueuedMessage(conversationId, messageId);
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

  stopTurn(conversationId: string): StopResult {
    const turn = this.states.get(conversationId)?.turn;
    if (!turn || turn.controller.signal.aborted) return { conversationId, abortedTurn: false };
    turn.controller.abort(new Error("stopped"));
    return { conversationId, abortedTurn: true };
  }

  async closeConversation(conversationId: string): Promise<Result<StopResult>> {
    if (!this.deps.store.getConversation(conversationId)) {
      return unknownConversation(conversationId);
    }
    const state = this.states.ensure(conversationId);
    state.closing = true;
    try {
      const cleared = this.deps.store.clearQueuedMessages(conversationId);
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
      if (this.deps.store.getConversation(conversationId)) this.states.setStatus(state, "closed");
      return { ok: true, value: { conversationId, abortedTurn } };
    } finally {
      state.closing = false;
    }
  }

  openConversation(conversationId: string): Result<OpenResult> {
    const record = this.deps.store.getConversation(conversationId);
    if (!record) return unknownConversation(conversationId);
    const value = { conversationId, workspaceId: record.workspaceId };
    this.deps.emit(ConversationOpened, value);
    return { ok: true, value };
  }

  status(conversationId: string): ConversationStatusResponse | undefined {
    const record = this.deps.store.getConversation(conversationId);
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

  replay(conversationId: string, resume?: ResumePoint): ReplayEntry[] {
    const replayed = this.states.get(conversationId)?.hub.replay(resume) ?? [];
    return [...replayed, ...this.pendingNotIn(conversationId, replayed)];
  }

  onConversationEvent(listener: GlobalConversationListener) {
    return this.states.onEvent(listener);
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

  // ───────────────────────────── settings ─────────────────────────────

  getSettings(conversationId: string): ConversationSettings | undefined {
    const r = this.deps.store.getConversation(conversationId);
    return r ? settingsOf(this.deps.store, r, this.deps.defaultCwd) : undefined;
  }

  updateSettings(conversationId: string, patch: SettingsPatch): Result<ConversationSettings> {
    if (typeof patch.model === "string") {
      const resolved = this.deps.catalog.resolve(patch.model);
      if (!resolved.ok) return fail("ORCH_UNKNOWN_MODEL", resolved.error.message);
    }
    if (!this.deps.store.getConversation(conversationId)) {
      return unknownConversation(conversationId);
    }
    const r = this.deps.store.updateConversation(conversationId, patch);
    if (!r.ok) {
      const code = r.error.code === "STORE_INVALID_INPUT" ? "ORCH_INVALID_REQUEST" : "ORCH_STORE_FAILED";
      return fail(code, r.error.message);
    }
    return { ok: true, value: settingsOf(this.deps.store, r.value, this.deps.defaultCwd) };
  }

  resolvePermission(conversationId: string, requestId: string, decision: PermissionDecision): Result<void> {
    const gate = this.deps.gate;
    if (!gate) return fail("ORCH_UNKNOWN_PERMISSION_REQUEST", "no permission gate is installed");
    const r = gate.resolve(conversationId, requestId, decision);
    return r.ok ? { ok: true, value: undefined } : fail("ORCH_UNKNOWN_PERMISSION_REQUEST", r.error.message);
  }

  // ───────────────────────────── compaction ─────────────────────────────

  compact(conversationId: string, opts: CompactOptions = {}): Promise<Result<CompactResult>> {
    if (this.shuttingDown) return Promise.resolve(fail("ORCH_SHUTTING_DOWN", "the daemon is shutting down"));
    const record = this.deps.store.getConversation(conversationId);
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
    return this.startCompaction(state, opts.keepLastN ?? this.deps.config.keepLastN, false);
  }

  private startCompaction(
    state: ConversationState,
    keepLastN: number,
    auto: boolean,
  ): Promise<Result<CompactResult>> {
    const controller = new AbortController();
    const deps = { store: this.deps.store, catalog: this.deps.catalog, timeouts: this.deps.config.timeouts };
    const promise = compactConversation(deps, state.id, keepLastN, controller.signal)
      // Only a bug throws here; it must still end the compaction, or every later one is refused.
      .catch((e: unknown) => {
        this.log.error("compaction threw", { conversationId: state.id, error: messageOf(e) });
        return fail<CompactResult>("ORCH_COMPACTION_FAILED", `compaction failed: ${messageOf(e)}`);
      })
      .then((r) => {
        if (state.compacting?.promise === promise) state.compacting = undefined;
        if (r.ok) this.deps.emit(ConversationCompacted, r.value);
        else if (auto)
          this.log.warn("automatic compaction failed", { conversationId: state.id, error: r.error.message });
        this.states.prune();
        return r;
      });
    state.compacting = { promise, controller };
    this.track(promise);
    return promise;
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const state of this.states.values()) {
      state.turn?.controller.abort(new Error("shutdown"));
      state.compacting?.controller.abort();
    }
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  // ───────────────────────────── internals ─────────────────────────────

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) =>
      this.log.error("background task failed", { error: messageOf(e) }),
    );
    this.background.add(tracked);
    tracked.finally(() => this.background.delete(tracked));
  }
}

export function createOrchestrator(deps: OrchestratorDeps): OrchestratorService {
  return new OrchestratorService(deps);
}
