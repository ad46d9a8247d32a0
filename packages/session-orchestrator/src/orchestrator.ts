import type {
  ConversationRecord,
  ConversationStore,
  TurnEndStatus,
} from "@dispatch/conversation-store/contract";
import type { EventHandle, Logger } from "@dispatch/kernel";
import type {
  AgentEvent,
  Chunk,
  ConversationStatus,
  ConversationStatusResponse,
  DoneReason,
  PermissionDecision,
  QueuedMessage,
  ResumePoint,
} from "@dispatch/protocol/types";
import type { LanguageModel, ModelCatalog } from "@dispatch/providers";
import type { PermissionGate, ToolRegistry } from "@dispatch/tools";
import { applyCompaction, planCompaction, shouldAutoCompact, summarize } from "./compaction";
import { DEFAULT_SYSTEM_PROMPT, type OrchestratorConfig } from "./config";
import {
  type CancelQueuedResult,
  type CompactOptions,
  type CompactResult,
  ConversationCompacted,
  type ConversationListener,
  ConversationOpened,
  type ConversationSettings,
  ConversationStatusChanged,
  type EnqueueOptions,
  type EnqueueResult,
  type GlobalConversationListener,
  type OpenResult,
  type Orchestrator,
  type OrchestratorErrorCode,
  type ReplayEntry,
  type Result,
  type SettingsPatch,
  type StartedTurn,
  type StartTurnRequest,
  type StopResult,
  TurnSettled,
  TurnStarted,
} from "./contract";
import { ConversationHub, type HubEntry } from "./hub";
import { joinQueued, MessageQueue } from "./queue";
import { messageOf } from "./run-tool";
import { deriveStatus } from "./status";
import { guard } from "./timeouts";
import { runTurnLoop, type TurnOutcome } from "./turn-loop";

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

interface RunningTurn {
  turnId: string;
  controller: AbortController;
  startedAt: number;
  settled: Promise<TurnSettled>;
}

interface ConversationState {
  id: string;
  hub: ConversationHub;
  queue: MessageQueue;
  turn?: RunningTurn;
  /** The status last persisted and announced by this process. */
  status?: ConversationStatus;
  closing: boolean;
  compacting?: { promise: Promise<Result<CompactResult>>; controller: AbortController };
  lastSettled?: TurnSettled;
}

const err = <T>(code: OrchestratorErrorCode, message: string): Result<T> => ({
  ok: false,
  error: { code, message },
});

const TURN_END_STATUS: Record<DoneReason, TurnEndStatus> = {
  stop: "completed",
  "tool-calls": "completed",
  length: "completed",
  "content-filter": "completed",
  "max-steps": "completed",
  other: "completed",
  error: "error",
  aborted: "aborted",
  interrupted: "interrupted",
};

/** Idle conversations (no turn, no listener, empty queue) whose hub is kept for a late `resume`. */
const RETAINED_IDLE = 256;

export class OrchestratorService implements Orchestrator {
  private readonly states = new Map<string, ConversationState>();
  private readonly globalListeners = new Set<GlobalConversationListener>();
  private readonly queueListeners = new Set<(conversationId: string) => void>();
  private readonly background = new Set<Promise<unknown>>();
  private shuttingDown = false;
  private readonly now: () => number;
  private readonly clock: () => number;
  private readonly log: Logger;

  constructor(private readonly deps: OrchestratorDeps) {
    this.now = deps.now ?? Date.now;
    this.clock = deps.clock ?? (() => performance.now());
    this.log = deps.logger;
  }

  // ───────────────────────────── turns ─────────────────────────────

  startTurn(req: StartTurnRequest): Result<StartedTurn> {
    const r = this.begin(req);
    return r.ok ? { ok: true, value: { conversationId: r.value.conversationId, turnId: r.value.turnId } } : r;
  }

  private begin(req: StartTurnRequest): Result<StartedTurn & { messageId: string }> {
    if (this.shuttingDown) return err("ORCH_SHUTTING_DOWN", "the daemon is shutting down; no new turns");
    if (typeof req.message !== "string" || req.message.trim() === "") {
      return err("ORCH_INVALID_REQUEST", "startTurn: message must be a non-empty string");
    }
    const conversationId = req.conversationId ?? crypto.randomUUID();
    const state = this.state(conversationId);
    if (state.turn) return err("ORCH_TURN_RUNNING", "a turn is already generating for this conversation");
    const record = this.deps.store.getConversation(conversationId);
    if (record?.status === "closed" || state.closing) {
      return err("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`);
    }
    const modelName = req.model ?? record?.model ?? this.deps.catalog.defaultModel();
    const resolved = this.deps.catalog.resolve(modelName);
    if (!resolved.ok) return err("ORCH_UNKNOWN_MODEL", resolved.error.message);

    // Per-turn settings override the sticky ones and are remembered.
    if (record) {
      const patch = {
        ...(req.model !== undefined || record.model === undefined ? { model: modelName } : {}),
        ...(req.cwd !== undefined ? { cwd: req.cwd } : {}),
        ...(req.reasoningEffort !== undefined ? { reasoningEffort: req.reasoningEffort } : {}),
        ...(req.workspaceId !== undefined ? { workspaceId: req.workspaceId } : {}),
      };
      if (Object.keys(patch).length > 0) {
        const u = this.deps.store.updateConversation(conversationId, patch);
        if (!u.ok) return err("ORCH_STORE_FAILED", u.error.message);
      }
    }

    const turnId = crypto.randomUUID();
    const messageId = crypto.randomUUID();
    const chunks: Chunk[] = [{ type: "text", text: req.message }];
    for (const img of req.images ?? []) {
      chunks.push({ type: "image", url: img.url, ...(img.mimeType ? { mimeType: img.mimeType } : {}) });
    }
    const appended = this.deps.store.appendStep(
      conversationId,
      [{ messageId, role: "user", chunks, turnId }],
      {
        model: modelName,
        ...(req.workspaceId !== undefined ? { workspaceId: req.workspaceId } : {}),
        ...(req.cwd !== undefined ? { cwd: req.cwd } : {}),
        ...(req.reasoningEffort !== undefined ? { reasoningEffort: req.reasoningEffort } : {}),
      },
    );
    if (!appended.ok) return err("ORCH_STORE_FAILED", appended.error.message);
    const startedAt = this.now();
    const begun = this.deps.store.beginTurn({ turnId, conversationId, startedAt });
    if (!begun.ok)
      this.log.error("turn not recorded", { conversationId, turnId, error: begun.error.message });

    const conv = this.deps.store.getConversation(conversationId);
    const cwd = this.effectiveCwd(conv);
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
    state.hub.publish({ ...base, type: "user-message", text: req.message });
    state.hub.publish({ ...base, type: "turn-start" });
    this.deps.emit(TurnStarted, { conversationId, turnId });
    this.refreshStatus(state);

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
          takeSteering: () => this.takeQueue(state),
        },
      );
    } catch (e) {
      // A bug in the loop: the turn still ends properly.
      this.log.error("turn loop failed", { conversationId, turnId, error: messageOf(e) });
      const message = `internal error: ${messageOf(e)}`;
      emit({ conversationId, turnId, type: "error", message });
      outcome = {
        reason: "error",
        steps: 0,
        error: { message },
        metrics: { steps: 0, genTotalMs: 0, toolMs: 0 },
      };
    }
    const endedAt = this.now();
    emit({
      conversationId,
      turnId,
      type: "done",
      reason: outcome.reason,
      durationMs: endedAt - turn.startedAt,
      ...(outcome.usage ? { usage: outcome.usage } : {}),
      ...(outcome.contextSize !== undefined ? { contextSize: outcome.contextSize } : {}),
    });
    const ended = this.deps.store.endTurn(turnId, {
      status: TURN_END_STATUS[outcome.reason],
      endedAt,
      ...(outcome.usage ? { usage: outcome.usage } : {}),
      metrics: { ...outcome.metrics, ...(outcome.error ? { error: outcome.error } : {}) },
    });
    if (!ended.ok)
      this.log.error("turn end not recorded", { conversationId, turnId, error: ended.error.message });

    // Queued messages are carried into a new turn unless the conversation is closing or the daemon stops.
    const carried = state.closing || this.shuttingDown ? [] : this.takeQueue(state, false);
    state.turn = undefined;
    if (carried.length === 0) this.refreshStatus(state);
    emit({ conversationId, turnId, type: "turn-sealed" });
    state.hub.endTurn(turnId);
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
      shouldAutoCompact(outcome.lastInputTokens, model.info.contextWindow, this.deps.config.autoCompactShare);
    if (compact) this.startCompaction(state, this.deps.config.keepLastN, true);
    if (carried.length > 0) this.carry(state, carried);
    this.prune();
    return settled;
  }

  /** Starts a turn with messages that waited for the previous one; re-queues them if that fails. */
  private carry(state: ConversationState, carried: QueuedMessage[]): void {
    const r = this.startTurn({ conversationId: state.id, message: joinQueued(carried) });
    if (r.ok) return;
    this.log.warn("queued messages not carried into a new turn", {
      conversationId: state.id,
      error: r.error.message,
    });
    if (r.error.code === "ORCH_TURN_RUNNING") {
      for (const m of carried) state.queue.add(m);
      this.queueChanged(state);
    } else {
      this.refreshStatus(state);
    }
  }

  enqueue(conversationId: string, text: string, opts: EnqueueOptions = {}): Result<EnqueueResult> {
    if (typeof text !== "string" || text.trim() === "") {
      return err("ORCH_INVALID_REQUEST", "enqueue: text must be a non-empty string");
    }
    const state = this.state(conversationId);
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
      return err("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`);
    }
    const message: QueuedMessage = { messageId: crypto.randomUUID(), text, createdAt: this.now() };
    state.queue.add(message);
    this.queueChanged(state);
    return {
      ok: true,
      value: { conversationId, startedTurn: false, messageId: message.messageId, queue: state.queue.list() },
    };
  }

  cancelQueued(conversationId: string, messageId: string): CancelQueuedResult {
    const state = this.states.get(conversationId);
    const cancelled = state?.queue.cancel(messageId) ?? false;
    if (state && cancelled) this.queueChanged(state);
    return { conversationId, cancelled, queue: state?.queue.list() ?? [] };
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
      return err("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${conversationId}"`);
    }
    const state = this.state(conversationId);
    state.closing = true;
    try {
      state.queue.clear();
      this.queueChanged(state);
      const turn = state.turn;
      const abortedTurn = this.stopTurn(conversationId).abortedTurn;
      state.compacting?.controller.abort();
      if (turn) await turn.settled;
      if (state.compacting) await state.compacting.promise;
      if (this.deps.store.getConversation(conversationId)) this.setStatus(state, "closed");
      return { ok: true, value: { conversationId, abortedTurn } };
    } finally {
      state.closing = false;
    }
  }

  openConversation(conversationId: string): Result<OpenResult> {
    const record = this.deps.store.getConversation(conversationId);
    if (!record) return err("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${conversationId}"`);
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
    const state = this.state(conversationId);
    const off = state.hub.subscribe(listener, resume, (replayed) =>
      this.pendingNotIn(conversationId, replayed),
    );
    return () => {
      off();
      this.prune();
    };
  }

  replay(conversationId: string, resume?: ResumePoint): ReplayEntry[] {
    const replayed = this.states.get(conversationId)?.hub.replay(resume) ?? [];
    return [...replayed, ...this.pendingNotIn(conversationId, replayed)];
  }

  onConversationEvent(listener: GlobalConversationListener) {
    this.globalListeners.add(listener);
    return () => {
      this.globalListeners.delete(listener);
    };
  }

  /** Called with a conversation id whenever its queue changes (the message-queue surface listens). */
  onQueueChanged(listener: (conversationId: string) => void) {
    this.queueListeners.add(listener);
    return () => {
      this.queueListeners.delete(listener);
    };
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
    return r ? this.settingsOf(r) : undefined;
  }

  updateSettings(conversationId: string, patch: SettingsPatch): Result<ConversationSettings> {
    if (typeof patch.model === "string") {
      const resolved = this.deps.catalog.resolve(patch.model);
      if (!resolved.ok) return err("ORCH_UNKNOWN_MODEL", resolved.error.message);
    }
    if (!this.deps.store.getConversation(conversationId)) {
      return err("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${conversationId}"`);
    }
    const r = this.deps.store.updateConversation(conversationId, patch);
    if (!r.ok) {
      const code = r.error.code === "STORE_INVALID_INPUT" ? "ORCH_INVALID_REQUEST" : "ORCH_STORE_FAILED";
      return err(code, r.error.message);
    }
    return { ok: true, value: this.settingsOf(r.value) };
  }

  private settingsOf(r: ConversationRecord): ConversationSettings {
    return {
      conversationId: r.id,
      title: r.title,
      workspaceId: r.workspaceId,
      ...(r.model !== undefined ? { model: r.model } : {}),
      ...(r.cwd !== undefined ? { cwd: r.cwd } : {}),
      ...(r.reasoningEffort !== undefined ? { reasoningEffort: r.reasoningEffort } : {}),
      effectiveCwd: this.effectiveCwd(r),
    };
  }

  private effectiveCwd(r: ConversationRecord | undefined): string {
    if (r?.cwd) return r.cwd;
    const ws = r ? this.deps.store.getWorkspace(r.workspaceId) : undefined;
    return ws?.defaultCwd ?? this.deps.defaultCwd;
  }

  resolvePermission(conversationId: string, requestId: string, decision: PermissionDecision): Result<void> {
    const gate = this.deps.gate;
    if (!gate) return err("ORCH_UNKNOWN_PERMISSION_REQUEST", "no permission gate is installed");
    const r = gate.resolve(conversationId, requestId, decision);
    return r.ok ? { ok: true, value: undefined } : err("ORCH_UNKNOWN_PERMISSION_REQUEST", r.error.message);
  }

  // ───────────────────────────── compaction ─────────────────────────────

  compact(conversationId: string, opts: CompactOptions = {}): Promise<Result<CompactResult>> {
    if (this.shuttingDown) return Promise.resolve(err("ORCH_SHUTTING_DOWN", "the daemon is shutting down"));
    const record = this.deps.store.getConversation(conversationId);
    if (!record)
      return Promise.resolve(err("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${conversationId}"`));
    if (record.status === "closed") {
      return Promise.resolve(err("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`));
    }
    const state = this.state(conversationId);
    if (state.turn)
      return Promise.resolve(err("ORCH_TURN_RUNNING", "a turn is already generating for this conversation"));
    if (state.compacting) {
      return Promise.resolve(
        err("ORCH_COMPACTING", `conversation "${conversationId}" is already being compacted`),
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
    const promise = this.compactNow(state.id, keepLastN, controller.signal).then((r) => {
      if (state.compacting?.promise === promise) state.compacting = undefined;
      if (r.ok) this.deps.emit(ConversationCompacted, r.value);
      else if (auto)
        this.log.warn("automatic compaction failed", { conversationId: state.id, error: r.error.message });
      this.prune();
      return r;
    });
    state.compacting = { promise, controller };
    this.track(promise);
    return promise;
  }

  private async compactNow(
    conversationId: string,
    keepLastN: number,
    signal: AbortSignal,
  ): Promise<Result<CompactResult>> {
    const { store, catalog, config } = this.deps;
    const record = store.getConversation(conversationId);
    if (!record) return err("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${conversationId}"`);
    const history = store.loadHistory(conversationId);
    if (!history.ok) return err("ORCH_STORE_FAILED", history.error.message);
    const plan = planCompaction(history.value.messages, keepLastN);
    if (!plan) {
      return err(
        "ORCH_NOTHING_TO_COMPACT",
        `conversation "${conversationId}" has no older messages to summarize`,
      );
    }
    const model = catalog.resolve(record.model ?? catalog.defaultModel());
    if (!model.ok) return err("ORCH_UNKNOWN_MODEL", model.error.message);
    const summary = await summarize(model.value, plan.summarize, config.timeouts, signal);
    if (!summary.ok) return summary;
    if (signal.aborted) return err("ORCH_COMPACTION_FAILED", "compaction was cancelled");
    return applyCompaction({
      store,
      conversationId,
      plan,
      summary: summary.value,
      archiveId: crypto.randomUUID(),
    });
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

  private state(conversationId: string): ConversationState {
    let s = this.states.get(conversationId);
    if (!s) {
      s = {
        id: conversationId,
        hub: new ConversationHub(conversationId, {
          replayBufferLimit: this.deps.config.replayBufferLimit,
          logger: this.log,
          onLive: (event, n) => this.fanOut(conversationId, event, n),
        }),
        queue: new MessageQueue(),
        closing: false,
      };
      this.states.set(conversationId, s);
    }
    return s;
  }

  private fanOut(conversationId: string, event: AgentEvent, n: number | undefined): void {
    for (const listener of [...this.globalListeners]) {
      try {
        listener(conversationId, event, n);
      } catch (e) {
        this.log.error("conversation event listener threw", {
          conversationId,
          eventType: event.type,
          error: messageOf(e),
        });
      }
    }
  }

  private takeQueue(state: ConversationState, announce = true): QueuedMessage[] {
    const drained = state.queue.drain();
    if (drained.length > 0) this.queueChanged(state, announce);
    return drained;
  }

  private queueChanged(state: ConversationState, refresh = true): void {
    if (refresh) this.refreshStatus(state);
    for (const listener of [...this.queueListeners]) {
      try {
        listener(state.id);
      } catch (e) {
        this.log.error("queue listener threw", { conversationId: state.id, error: messageOf(e) });
      }
    }
  }

  /** Persists and announces the status derived from the in-memory state, when it changed. */
  private refreshStatus(state: ConversationState): void {
    const record = this.deps.store.getConversation(state.id);
    if (!record || record.status === "closed") return;
    this.setStatus(
      state,
      deriveStatus({ closed: false, running: !!state.turn, queued: state.queue.size }),
      record,
    );
  }

  private setStatus(state: ConversationState, status: ConversationStatus, record?: ConversationRecord): void {
    const current = record ?? this.deps.store.getConversation(state.id);
    if (!current || current.status === status) {
      state.status = status;
      return;
    }
    const r = this.deps.store.updateConversation(state.id, { status });
    if (!r.ok) {
      this.log.error("status not persisted", { conversationId: state.id, status, error: r.error.message });
      return;
    }
    state.status = status;
    state.hub.publish({ type: "status", conversationId: state.id, status });
    this.deps.emit(ConversationStatusChanged, {
      conversationId: state.id,
      status,
      workspaceId: r.value.workspaceId,
    });
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) =>
      this.log.error("background task failed", { error: messageOf(e) }),
    );
    this.background.add(tracked);
    tracked.finally(() => this.background.delete(tracked));
  }

  /** Forgets idle conversations beyond the retention bound (oldest first). */
  private prune(): void {
    if (this.states.size <= RETAINED_IDLE) return;
    for (const [id, s] of this.states) {
      if (this.states.size <= RETAINED_IDLE) return;
      if (!s.turn && !s.compacting && !s.closing && s.queue.size === 0 && s.hub.listenerCount === 0) {
        this.states.delete(id);
      }
    }
  }
}

export function createOrchestrator(deps: OrchestratorDeps): OrchestratorService {
  return new OrchestratorService(deps);
}
