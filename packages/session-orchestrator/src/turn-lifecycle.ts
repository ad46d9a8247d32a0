/**
 * Starting and ending turns. `begin` persists the user message (with whatever was queued before it,
 * dequeued in the same transaction) and runs the turn detached through the turn loop; the end writes
 * `done`, the turn record, `turn-sealed` and the status, then starts an automatic compaction and
 * carries messages queued meanwhile into the next turn. At shutdown the queue is written into the
 * stopped turn instead. The orchestrator creates it and calls it; it calls only what it is handed
 * (the states, the background tasks, the compaction runs), never back into the orchestrator.
 */
import type { ConversationRecord } from "@dispatch/conversation-store/contract";
import type { EventHandle, Logger } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { LanguageModel, ModelCatalog } from "@dispatch/providers/contract";
import type { PermissionGate, ToolRegistry } from "@dispatch/tools/contract";
import type { BackgroundTasks } from "./background";
import { shouldAutoCompact } from "./compaction";
import type { CompactionRuns } from "./compaction-runs";
import { DEFAULT_SYSTEM_PROMPT, type OrchestratorConfig } from "./config";
import { type Result, type StartedTurn, type StartTurnRequest, TurnSettled, TurnStarted } from "./contract";
import type { ConversationState, ConversationStates, RunningTurn } from "./conversation-states";
import { HistoryCache } from "./history-cache";
import { InflightFlushes } from "./inflight-writer";
import { joinQueued, steeringMessages } from "./queue";
import { fail, modelRefusal } from "./result";
import { messageOf } from "./run-tool";
import { effectiveCwd } from "./settings";
import type { OrchestratorStores } from "./stores";
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
export type TurnRequest = Omit<StartTurnRequest, "message"> & { message: string | null };

/** What a turn needs: the services it runs with, the conversations' states, and the shared runners. */
export interface TurnLifecycleDeps {
  store: OrchestratorStores;
  catalog: Pick<ModelCatalog, "defaultModel" | "resolve">;
  /** Absent: turns run without tools. */
  tools?: Pick<ToolRegistry, "list">;
  /** Absent: every valid tool call runs unasked. */
  gate?: PermissionGate;
  config: OrchestratorConfig;
  logger: Logger;
  emit<T>(event: EventHandle<T>, payload: T): void;
  /** The cwd of conversations with neither their own cwd nor a workspace default. */
  defaultCwd: string;
  states: ConversationStates;
  /** Epoch milliseconds, for records. */
  now(): number;
  /** Monotonic milliseconds, for metrics. */
  clock(): number;
  /** Tracks each detached turn; once it is `stopping`, no new turn and no carry start. */
  background: BackgroundTasks;
  /** Runs the automatic compaction after a turn whose context grew past the threshold. */
  compactions: Pick<CompactionRuns, "start">;
}

export class TurnLifecycle {
  private readonly log: Logger;
  /** One in-flight flush timer and transaction for every running step. */
  private readonly flushes: InflightFlushes;

  constructor(private readonly deps: TurnLifecycleDeps) {
    this.log = deps.logger;
    this.flushes = new InflightFlushes(deps.store.turns, deps.config.inflightFlushMs, deps.logger);
  }

  /**
   * Starts a turn whose user message is the conversation's queued messages (if any: they were sent
   * first) followed by `req.message`; `message: null` starts one with the queued messages alone (the
   * carry). The queued messages leave the durable queue in the transaction that appends the message.
   */
  begin(req: TurnRequest): Result<StartedTurn & { messageId: string }> {
    if (this.deps.background.stopping)
      return fail("ORCH_SHUTTING_DOWN", "the daemon is shutting down; no new turns");
    if (req.message !== null && (typeof req.message !== "string" || req.message.trim() === "")) {
      return fail("ORCH_INVALID_REQUEST", "startTurn: message must be a non-empty string");
    }
    const conversationId = req.conversationId ?? crypto.randomUUID();
    const state = this.deps.states.ensure(conversationId);
    if (state.turn) return fail("ORCH_TURN_RUNNING", "a turn is already generating for this conversation");
    const queued = state.queue.list();
    if (req.message === null && queued.length === 0) {
      return fail("ORCH_INVALID_REQUEST", `conversation "${conversationId}" has no queued messages to carry`);
    }
    const record = this.deps.store.conversations.getConversation(conversationId);
    if (record?.status === "closed" || state.closing) {
      return fail("ORCH_CONVERSATION_CLOSED", `conversation "${conversationId}" is closed`);
    }
    const modelName = req.model ?? record?.model ?? this.deps.catalog.defaultModel();
    const resolved = this.deps.catalog.resolve(modelName);
    if (!resolved.ok) return modelRefusal(resolved.error);

    // Per-turn settings override the sticky ones and are remembered.
    if (record) {
      const patch = stickyPatch(record, req, modelName);
      if (Object.keys(patch).length > 0) {
        const u = this.deps.store.conversations.updateConversation(conversationId, patch);
        if (!u.ok) return fail("ORCH_STORE_FAILED", u.error.message);
      }
    }

    const turnId = crypto.randomUUID();
    const messageId = crypto.randomUUID();
    const text = joinQueued(req.message === null ? queued : [...queued, { text: req.message }]);
    const dequeue = queued.map((m) => m.messageId);
    const appended = this.deps.store.log.appendStep(
      conversationId,
      [{ messageId, role: "user", chunks: userMessageChunks({ ...req, message: text }), turnId }],
      initialSettings(req, modelName),
      dequeue.length > 0 ? { dequeue, view: true } : { view: true },
    );
    if (!appended.ok) return fail("ORCH_STORE_FAILED", appended.error.message);
    state.history ??= new HistoryCache(conversationId, this.deps.store);
    state.history.appended(appended.value);
    this.deps.states.removeDelivered(state, queued, false);
    const startedAt = this.deps.now();
    const begun = this.deps.store.turns.beginTurn({ turnId, conversationId, startedAt });
    if (!begun.ok)
      this.log.error("turn not recorded", { conversationId, turnId, error: begun.error.message });

    const conv = this.deps.store.conversations.getConversation(conversationId);
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
    this.deps.states.refreshStatus(state);

    const run = this.runTurn(state, turn, resolved.value, {
      cwd,
      ...(req.grant ? { grant: req.grant } : {}),
      ...(conv?.reasoningEffort ? { reasoningEffort: conv.reasoningEffort } : {}),
    }).then(settle, (e: unknown) => {
      // Only a bug gets here (every step of runTurn handles its failures); never leave the turn hanging.
      this.log.error("turn did not settle cleanly", { conversationId, turnId, error: messageOf(e) });
      if (state.turn === turn) state.turn = undefined;
      state.hub.endTurn(turnId);
      settle({ conversationId, turnId, reason: "error" });
    });
    this.deps.background.track(run);
    return { ok: true, value: { conversationId, turnId, messageId } };
  }

  private async runTurn(
    state: ConversationState,
    turn: RunningTurn,
    model: LanguageModel,
    opts: {
      cwd: string;
      grant?: { tools?: string[]; all?: boolean };
      reasoningEffort?: ConversationRecord["reasoningEffort"];
    },
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
      state.history ??= new HistoryCache(conversationId, this.deps.store);
      outcome = await runTurnLoop(
        {
          store: this.deps.store,
          history: state.history,
          flushes: this.flushes,
          model,
          tools: () => this.deps.tools?.list() ?? [],
          gate: this.deps.gate,
          config: this.deps.config,
          logger: this.log.child({ conversationId, turnId }),
          clock: this.deps.clock,
        },
        {
          conversationId,
          turnId,
          cwd: opts.cwd,
          ...(opts.grant ? { grant: opts.grant } : {}),
          ...(opts.reasoningEffort ? { reasoningEffort: opts.reasoningEffort } : {}),
          system: (this.deps.config.systemPrompt ?? DEFAULT_SYSTEM_PROMPT).replaceAll("{cwd}", opts.cwd),
          signal: turn.controller.signal,
          emit,
          pendingSteering: () => state.queue.list(),
          steeringDelivered: (delivered) => this.deps.states.removeDelivered(state, delivered),
        },
      );
    } catch (e) {
      // A bug in the loop: the turn still ends properly.
      this.log.error("turn loop failed", { conversationId, turnId, error: messageOf(e) });
      const message = `internal error: ${messageOf(e)}`;
      emit({ conversationId, turnId, type: "error", message });
      outcome = crashedOutcome(message);
    }
    if (this.deps.background.stopping && !state.closing) this.keepQueueAtShutdown(state, turnId, emit);
    const endedAt = this.deps.now();
    emit(doneEvent({ conversationId, turnId }, outcome, endedAt - turn.startedAt));
    const ended = this.deps.store.turns.endTurn(turnId, turnEnd(outcome, endedAt));
    if (!ended.ok)
      this.log.error("turn end not recorded", { conversationId, turnId, error: ended.error.message });

    // Queued messages are carried into a new turn unless the conversation is closing or the daemon stops.
    const carry = !state.closing && !this.deps.background.stopping && state.queue.size > 0;
    state.turn = undefined;
    // The status is written before `turn-sealed` (the last write) and announced after it.
    const announce = !carry && !state.closing ? this.deps.states.persistStatus(state) : undefined;
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
    // Nobody watches: the conversation has likely gone quiet, so its held history is freed.
    if (!state.turn && state.hub.listenerCount === 0) state.history?.drop();
    this.deps.emit(TurnSettled, settled);

    const compact =
      !state.closing &&
      !this.deps.background.stopping &&
      !state.turn &&
      shouldAutoCompact(outcome.lastInputTokens, model.info.contextWindow, this.deps.config.autoCompactShare);
    if (compact) void this.deps.compactions.start(state, this.deps.config.keepLastN, true);
    if (carry) this.carry(state);
    this.deps.states.prune();
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
    const written = this.deps.store.log.appendStep(
      conversationId,
      steeringMessages(queued, turnId),
      {},
      { dequeue, view: true },
    );
    if (written.ok) state.history?.appended(written.value);
    if (!written.ok) {
      this.log.error("queued messages not written into the stopped turn; they stay queued", {
        conversationId,
        count: queued.length,
        error: written.error.message,
      });
      return;
    }
    this.deps.states.removeDelivered(state, queued, false);
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
    this.deps.states.refreshStatus(state);
  }
}
