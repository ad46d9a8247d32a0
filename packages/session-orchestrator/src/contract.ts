/**
 * The session orchestrator's contract: the `Orchestrator` service transports and apps call, the kernel
 * events it owns, and its error codes. Consumers import this file (through the package index), never the
 * implementation.
 *
 * Turns run detached from any connection. Every event of a turn goes through the conversation's hub,
 * the one source of conversation events (`subscribe` / `replay`; the turn observer is the hubs' live
 * tap): `user-message`, `turn-start`, deltas…, `done`, then `turn-sealed` once the turn is fully
 * persisted. The kernel events below are lifecycle notices for other extensions (broadcasts to every
 * client, running-turn counts, lazy starts), not a second path for a conversation's events.
 */
import { type Disposer, defineEvent, defineService, type Result as KernelResult } from "@dispatch/kernel";
import type {
  AgentEvent,
  ChatRequestBody,
  CompactResponse,
  ConversationStatus,
  ConversationStatusResponse,
  DoneReason,
  QueueCancelResponse,
  QueuedMessage,
  QueueResponse,
  ReasoningEffort,
  ResumePoint,
  StopResponse,
  Usage,
} from "@dispatch/protocol/types";

export const OrchestratorErrorCodes = [
  /** startTurn while a turn of the conversation is generating (single flight). */
  "ORCH_TURN_RUNNING",
  /** The conversation is closed (closed conversations, compaction archives included, take no turns). */
  "ORCH_CONVERSATION_CLOSED",
  "ORCH_UNKNOWN_CONVERSATION",
  /** The requested (or sticky, or default) model is not in the catalog. */
  "ORCH_UNKNOWN_MODEL",
  /** The model's credential has no API key (unset variable, none configured); the message names it. */
  "ORCH_MISSING_API_KEY",
  "ORCH_UNKNOWN_WORKSPACE",
  /** A field of the request is invalid (empty message, …); the message names it. */
  "ORCH_INVALID_REQUEST",
  /** The store refused a write; the message carries the store's code and message. */
  "ORCH_STORE_FAILED",
  /** Compaction found no older messages to summarize. */
  "ORCH_NOTHING_TO_COMPACT",
  /** The summarizing model call failed or returned nothing. */
  "ORCH_COMPACTION_FAILED",
  /** enqueue while `maxQueuedMessages` messages already wait for the running turn. */
  "ORCH_QUEUE_FULL",
  /** A compaction of this conversation is already running. */
  "ORCH_COMPACTING",
  /** No permission gate is installed, or it does not know the request (the operations core maps every refusal of an answer to it). */
  "ORCH_UNKNOWN_PERMISSION_REQUEST",
  /** shutdown() has been called. */
  "ORCH_SHUTTING_DOWN",
] as const;
export type OrchestratorErrorCode = (typeof OrchestratorErrorCodes)[number];

export interface OrchestratorError {
  code: OrchestratorErrorCode;
  /** Names the culprit (conversation id, model name, field). */
  message: string;
}

export type Result<T, E = OrchestratorError> = KernelResult<T, E>;

/**
 * The fields of `chat.send` / `POST /chat`. No `conversationId`: a new conversation with a minted UUID.
 * `message` must be non-empty. Per-turn settings (model, cwd, reasoningEffort, workspaceId) override the
 * conversation's sticky settings and are remembered.
 */
export type StartTurnRequest = ChatRequestBody;

export interface StartedTurn {
  conversationId: string;
  turnId: string;
}

export interface EnqueueOptions {
  workspaceId?: string;
}

export interface EnqueueResult extends QueueResponse {
  /** Set when the conversation was idle and the text started a turn (`startedTurn`). */
  turnId?: string;
  /** The queued message's id (the user message's id when a turn started). */
  messageId: string;
}

export type CancelQueuedResult = QueueCancelResponse;

/** Answer of stopTurn and closeConversation. */
export type StopResult = StopResponse;

export interface OpenResult {
  conversationId: string;
  workspaceId: string;
}

export interface CompactOptions {
  /** Messages kept verbatim (default: config `keepLastN`). */
  keepLastN?: number;
}

export type CompactResult = CompactResponse;

/** A conversation's sticky settings. */
export interface ConversationSettings {
  conversationId: string;
  title: string;
  workspaceId: string;
  model?: string;
  cwd?: string;
  reasoningEffort?: ReasoningEffort;
  /** The cwd turns run in: `cwd`, else the workspace's default cwd, else the daemon's cwd. */
  effectiveCwd: string;
}

/** `null` clears an optional setting; absent leaves it alone. */
export interface SettingsPatch {
  title?: string;
  workspaceId?: string;
  model?: string | null;
  cwd?: string | null;
  reasoningEffort?: ReasoningEffort | null;
}

/**
 * One event of a conversation; `n` = its 1-based index in its turn (undefined for `status`), `at` its
 * place on the orchestrator's event clock (numbered events only; see `eventsSince`).
 */
export type ConversationListener = (event: AgentEvent, n: number | undefined, at?: number) => void;

export interface ReplayEntry {
  event: AgentEvent;
  n?: number;
  at?: number;
}

/** A numbered event of any conversation, with its place on the event clock. */
export interface ClockedEvent {
  conversationId: string;
  event: AgentEvent;
  n: number;
  at: number;
}

export interface Orchestrator {
  /**
   * Persists the user message, emits `user-message` then `turn-start`, and runs the turn detached.
   * Messages still queued for the conversation (left by a crash, or by a carry that could not start)
   * go first: the user message is their texts and `message`, joined by blank lines.
   * Refuses with ORCH_TURN_RUNNING ("a turn is already generating for this conversation") while one runs.
   */
  startTurn(req: StartTurnRequest): Result<StartedTurn>;
  /**
   * Idle conversation: starts a turn with `text`. Running turn: queues `text`; it is delivered as a
   * `steering` message at the next tool-result boundary, or carried into a new turn when the turn ends.
   * The queue is durable: a message is in the store before enqueue returns ok, and leaves it only in
   * the transaction that writes it into the log, so a crash neither loses nor duplicates it. At
   * shutdown, queued messages are written into the stopped turn (as `steering`). After a crash they
   * are restored at boot but not started unattended: they stay queued (listed and cancellable in the
   * `message-queue` surface) and go first in the user message of the conversation's next turn.
   * At most `maxQueuedMessages` wait; more are refused with ORCH_QUEUE_FULL. A store failure is
   * ORCH_STORE_FAILED (nothing queued).
   */
  enqueue(conversationId: string, text: string, opts?: EnqueueOptions): Result<EnqueueResult>;
  cancelQueued(conversationId: string, messageId: string): CancelQueuedResult;
  queue(conversationId: string): QueuedMessage[];
  /** Aborts the running turn (provider request and running tool included); it still ends with `done` + `turn-sealed`. */
  stopTurn(conversationId: string): StopResult;
  /** Aborts the running turn, waits until it is sealed, drops the queue and marks the conversation closed. */
  closeConversation(conversationId: string): Promise<Result<StopResult>>;
  /** Asks frontends to open/focus the conversation: emits ConversationOpened with its persisted workspace. */
  openConversation(conversationId: string): Result<OpenResult>;
  /** Undefined when the conversation does not exist. */
  status(conversationId: string): ConversationStatusResponse | undefined;
  /** The running turn's id, if any. */
  runningTurn(conversationId: string): string | undefined;
  /** Every conversation with a running turn (what a wildcard watcher is replayed). */
  runningConversations(): string[];
  /**
   * Replays (synchronously, before returning) the running turn — or, with `resume`, only the events after
   * `resume.n` of `resume.turnId` (also when that turn has just been sealed) — then delivers live events.
   * Pending permission requests not in the replay are re-sent (unnumbered). Nothing is duplicated or
   * skipped between replay and live. A throwing listener is logged and never affects others.
   */
  subscribe(conversationId: string, listener: ConversationListener, resume?: ResumePoint): Disposer;
  /** What `subscribe` would replay now (for transports that fan out with their own pub/sub). */
  replay(conversationId: string, resume?: ResumePoint): ReplayEntry[];
  /**
   * The event clock's identity. Every numbered event of every conversation is stamped with the next
   * place on it (`at`, passed to listeners) as it is published, so places order events across
   * conversations as they were delivered; a place means nothing to another process (a restart).
   */
  readonly eventClock: string;
  /**
   * Every numbered event of every conversation stamped after `at` on clock `clock`, in clock order —
   * or undefined when they are not all known (another clock, or older than the recent events kept).
   * What a stream of a wildcard channel missed while it reconnected.
   */
  eventsSince(clock: string, at: number): ClockedEvent[] | undefined;
  /** Resolves when the turn (default: the running one) is sealed; undefined when there is no such turn. */
  whenSettled(conversationId: string, turnId?: string): Promise<TurnSettled | undefined>;
  /**
   * Summarizes the older messages with the conversation's model and keeps the last N verbatim (never
   * splitting a tool call from its result). The conversation keeps its id and its seq keeps growing;
   * an archived copy (closed, `compactedFrom` = this id) holds the summarized messages.
   */
  compact(conversationId: string, opts?: CompactOptions): Promise<Result<CompactResult>>;
  /** Aborts every turn and compaction and resolves once all are sealed. Later starts are refused. */
  shutdown(): Promise<void>;
}
export const Orchestrator = defineService<Orchestrator>("session-orchestrator/orchestrator");

/**
 * A conversation's sticky settings (the session-orchestrator extension provides it beside the
 * Orchestrator).
 */
export interface ConversationSettingsService {
  /** Undefined when the conversation does not exist. */
  getSettings(conversationId: string): ConversationSettings | undefined;
  /**
   * Refuses an unknown model (ORCH_UNKNOWN_MODEL, ORCH_MISSING_API_KEY) before writing anything;
   * ORCH_UNKNOWN_CONVERSATION, ORCH_INVALID_REQUEST (a field the store refuses), ORCH_STORE_FAILED.
   */
  updateSettings(conversationId: string, patch: SettingsPatch): Result<ConversationSettings>;
}
export const ConversationSettingsService = defineService<ConversationSettingsService>(
  "session-orchestrator/settings",
);

// ───────────────────────────── kernel events ─────────────────────────────

export interface ConversationOpened {
  conversationId: string;
  workspaceId: string;
}
export interface ConversationStatusChanged {
  conversationId: string;
  status: ConversationStatus;
  /** The conversation's persisted workspace. */
  workspaceId: string;
}
export interface ConversationCompacted {
  conversationId: string;
  /** The archived snapshot holding the summarized messages. */
  newConversationId: string;
  messagesSummarized: number;
  messagesKept: number;
}
export interface TurnStarted {
  conversationId: string;
  turnId: string;
}
export interface TurnSettled {
  conversationId: string;
  turnId: string;
  reason: DoneReason;
  usage?: Usage;
}

export const ConversationOpened = defineEvent<ConversationOpened>("conversation.opened");
export const ConversationStatusChanged = defineEvent<ConversationStatusChanged>("conversation.statusChanged");
export const ConversationCompacted = defineEvent<ConversationCompacted>("conversation.compacted");
export const TurnStarted = defineEvent<TurnStarted>("turn.started");
export const TurnSettled = defineEvent<TurnSettled>("turn.settled");

/** The id of the per-conversation surface listing queued messages. */
export const MESSAGE_QUEUE_SURFACE_ID = "message-queue";
