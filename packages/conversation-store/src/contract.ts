/**
 * The conversation store's contract: what other packages import. An append-only, per-conversation log
 * of chunks with a gap-free `seq`, conversation metadata and settings, turns, workspaces and pending
 * permission requests. Every operation is synchronous (bun:sqlite, one writer).
 *
 * Expected failures (unknown ids, invalid input, a write SQLite refused, rows a damaged file cannot
 * give back) are `Result` values with a stable `code`; a row that cannot be decoded is skipped and
 * reported with its seq. Nothing here throws except opening a database that cannot be used
 * (`StoreOpenError`: STORE_SCHEMA_TOO_NEW, STORE_OPEN_FAILED), using a closed store, and the plain
 * getters (getConversation, getTurn, list…) on a physically damaged file (SQLITE_CORRUPT), which
 * have no error channel; the log reads (readWindow, loadHistory, listConversations) return
 * STORE_READ_FAILED instead.
 */
import { defineService, type Result as KernelResult } from "@dispatch/kernel";
import type {
  Chunk,
  ConversationMeta,
  ConversationStatus,
  PermissionDecision,
  ReasoningEffort,
  Role,
  StoredChunk,
  ToolCallChunk,
  Usage,
} from "@dispatch/protocol/types";

export type StoreErrorCode =
  | "STORE_UNKNOWN_CONVERSATION"
  | "STORE_CONVERSATION_EXISTS"
  | "STORE_INVALID_INPUT"
  | "STORE_INVALID_CURSOR"
  | "STORE_UNKNOWN_WORKSPACE"
  | "STORE_WORKSPACE_EXISTS"
  | "STORE_WORKSPACE_NOT_EMPTY"
  | "STORE_DEFAULT_WORKSPACE"
  | "STORE_UNKNOWN_TURN"
  | "STORE_TURN_EXISTS"
  | "STORE_UNKNOWN_PERMISSION_REQUEST"
  /** A `dequeue` id that is not (or no longer) queued in the conversation: nothing was written. */
  | "STORE_UNKNOWN_QUEUED_MESSAGE"
  /** enqueueMessage with a message id already queued or already in the conversation's log. */
  | "STORE_MESSAGE_EXISTS"
  | "STORE_WRITE_FAILED"
  /** SQLite could not read the rows (a damaged file: SQLITE_CORRUPT, an I/O error). */
  | "STORE_READ_FAILED"
  /** revokeShare named a share that does not exist. */
  | "STORE_UNKNOWN_SHARE"
  /** createShare with a share id that is taken. */
  | "STORE_SHARE_EXISTS";

/**
 * Thrown only while opening: the database cannot be used by this build. The message starts with the
 * code, so it survives layers (such as the kernel's "disabled" reason) that keep only the message.
 */
export type StoreOpenErrorCode =
  | "STORE_SCHEMA_TOO_NEW"
  | "STORE_OPEN_FAILED"
  | "STORE_NO_PATH"
  | "STORE_INVALID_CONFIG";

export interface StoreError {
  code: StoreErrorCode;
  /** Names the culprit (conversation id, field path, seq). */
  message: string;
}

export type Result<T, E = StoreError> = KernelResult<T, E>;

export class StoreOpenError extends Error {
  override readonly name = "StoreOpenError";
  constructor(
    readonly code: StoreOpenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/** The id of the workspace that always exists. */
export const DEFAULT_WORKSPACE_ID = "default";

/** Settings a conversation is created with. Absent fields stay unset (workspace: `default`). */
export interface ConversationInit {
  id: string;
  workspaceId?: string;
  model?: string;
  cwd?: string;
  reasoningEffort?: ReasoningEffort;
  title?: string;
}

/** For snapshots (compaction archives) and imports: full control over the new row. */
export interface CreateConversationInput extends ConversationInit {
  status?: ConversationStatus;
  compactedFrom?: string;
  createdAt?: number;
}

/** Metadata plus the per-conversation settings and log bookkeeping. */
export interface ConversationRecord extends ConversationMeta {
  cwd?: string;
  reasoningEffort?: ReasoningEffort;
  /** Highest seq assigned so far (0 when empty). Never decreases. */
  lastSeq: number;
  /** Where the model view starts by default (1, or a compaction summary's seq). */
  historyStartSeq: number;
}

/** `null` clears an optional setting; absent leaves it alone. */
export interface ConversationPatch {
  title?: string;
  status?: ConversationStatus;
  model?: string | null;
  cwd?: string | null;
  reasoningEffort?: ReasoningEffort | null;
  workspaceId?: string;
  lastActivityAt?: number;
  historyStartSeq?: number;
}

export interface AppendMessage {
  /** Chunks of one message may span several steps; the role must stay the same. */
  messageId: string;
  role: Role;
  chunks: Chunk[];
  turnId?: string;
}

/** Options of appendStep. */
export interface AppendOptions {
  /**
   * Queued messages (ids of this conversation's queue) the step delivers: they leave the queue in the
   * step's transaction, so a message is either still queued or in the log, never both and never
   * neither. One that is not queued fails the step with STORE_UNKNOWN_QUEUED_MESSAGE.
   */
  dequeue?: string[];
  /**
   * The step settles the conversation's in-flight step: its rows (appendInflight) are deleted in the
   * same transaction, so the content is either in flight or in the log, never both.
   */
  settleInflight?: boolean;
  /**
   * Also return the appended messages as `loadHistory` would show them (`AppendResult.view`), so a
   * caller holding the view up to the step (a running turn) extends it instead of reading it again.
   */
  view?: boolean;
}

/** What a running step streamed since its last flush (see appendInflight). */
export type InflightPart =
  | { kind: "text" | "thinking"; text: string }
  | { kind: "tool-call"; chunk: ToolCallChunk }
  /** The tool call is about to run; `runId` is the marker its processes carry (run_shell). */
  | { kind: "tool-start"; toolCallId: string; runId: string };

/** The step the parts belong to; the assistant message they become keeps `messageId`. */
export interface InflightStep {
  turnId: string;
  stepId: string;
  messageId: string;
}

/** A tool call a crash interrupted while it ran (its `tool-start` was written, its result never). */
export interface InterruptedToolRun {
  conversationId: string;
  turnId: string;
  toolCallId: string;
  toolName: string;
  runId: string;
}

/** Code of the error chunk that ends a step promoted from in-flight rows at boot recovery. */
export const STEP_INTERRUPTED_CODE = "STORE_STEP_INTERRUPTED";

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
  /**
   * With `AppendOptions.view`: the reconciled view of the appended chunks alone. Appending it to the
   * view that ended at `firstSeq - 1` gives the view `loadHistory` returns now. Absent when that does
   * not hold: a chunk joined a message that was already in the log.
   */
  view?: HistoryMessage[];
}

export interface WindowQuery {
  /** Exclusive lower bound. */
  sinceSeq?: number;
  /** Exclusive upper bound. */
  beforeSeq?: number;
  /** The newest `limit` chunks of the range (returned ascending); absent = all of them. */
  limit?: number;
  /**
   * Stored bytes (chunk JSON) one window returns at most (default 8 MiB); at least one chunk is
   * always returned. See ConversationWindow.more.
   */
  maxBytes?: number;
}

/** A stored row that could not be decoded; skipped, never fatal. */
export interface RowProblem {
  seq: number;
  message: string;
}

export interface ConversationWindow {
  chunks: StoredChunk[];
  /** Last returned seq, or `sinceSeq` (0 when absent) when nothing newer was returned (PROTOCOL §6). */
  latestSeq: number;
  problems: RowProblem[];
  /**
   * Set when the byte cap cut the window short: where the rest is. Without `limit` the oldest chunks
   * of the range are returned and the rest is after `latestSeq` (`{ sinceSeq: latestSeq }`); with a
   * `limit` the newest are returned and the rest is before the first one (`{ beforeSeq }`).
   */
  more?: { sinceSeq: number } | { beforeSeq: number };
}

/** One message of the model-facing view. */
export interface HistoryMessage {
  messageId: string;
  role: Role;
  chunks: Chunk[];
  turnId?: string;
  /** Seq of the message's first chunk (of the tool call, for synthetic results). */
  firstSeq: number;
  /** True for messages reconcile made up (results of interrupted tool calls). */
  synthetic?: boolean;
}

export interface History {
  messages: HistoryMessage[];
  problems: RowProblem[];
}

export interface ListQuery {
  status?: ConversationStatus[];
  workspaceId?: string;
  /** Id prefix, or title substring (case-insensitive for ASCII). */
  q?: string;
  /** Default 50, at most 500. */
  limit?: number;
  /** Opaque; from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface ListPage {
  conversations: ConversationMeta[];
  nextCursor?: string;
}

export interface CopyRange {
  /** Inclusive; default 1. */
  fromSeq?: number;
  /** Inclusive. */
  uptoSeq: number;
}

export interface CopyResult {
  chunks: number;
  messages: number;
  /** In the target conversation; both 0 when nothing was copied. */
  firstSeq: number;
  lastSeq: number;
}

/** The archive a compaction snapshots the summarized range into (a new conversation). */
export interface CompactionArchive {
  /** Created in the same transaction; status defaults to `closed`, compactedFrom to the source. */
  conversation: CreateConversationInput;
  /** The source's chunks `[fromSeq, uptoSeq]` (inclusive; fromSeq default 1) are copied into it. */
  fromSeq?: number;
  uptoSeq: number;
}

export interface CompactionInput {
  /** Omit to compact without keeping a copy of the summarized range. */
  archive?: CompactionArchive;
  /** Appended to the source as one step: the summary (the marker) first, then the kept messages. */
  messages: AppendMessage[];
}

export interface CompactionResult extends AppendResult {
  /** The source's new historyStartSeq: `firstSeq`, the marker. */
  historyStartSeq: number;
  /** What was copied into the archive; absent without one. */
  archive?: CopyResult;
}

export type TurnStatus = "running" | "completed" | "error" | "aborted" | "interrupted";
export type TurnEndStatus = Exclude<TurnStatus, "running">;

export interface TurnRecord {
  turnId: string;
  conversationId: string;
  status: TurnStatus;
  startedAt: number;
  endedAt?: number;
  usage?: Usage;
  metrics?: Record<string, unknown>;
}

export interface BeginTurn {
  turnId: string;
  conversationId: string;
  startedAt: number;
}

export interface EndTurn {
  status: TurnEndStatus;
  endedAt: number;
  usage?: Usage;
  metrics?: Record<string, unknown>;
}

export type PermissionRequestStatus = "pending" | PermissionDecision | "expired";

export interface PermissionRequestRecord {
  requestId: string;
  conversationId: string;
  turnId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
  reason: string;
  createdAt: number;
  status: PermissionRequestStatus;
  resolvedAt?: number;
}

export type SavePermissionRequest = Omit<PermissionRequestRecord, "status" | "resolvedAt">;

export interface Workspace {
  /** Slug: lowercase letters, digits, `-` and `_`, 1–64 characters, starting with a letter or digit. */
  id: string;
  title: string;
  defaultCwd?: string;
  createdAt: number;
}

export interface WorkspaceInput {
  id: string;
  title?: string;
  defaultCwd?: string;
}

export interface WorkspacePatch {
  title?: string;
  defaultCwd?: string | null;
}

/** A message waiting for a running turn (the durable queue). */
export interface QueueMessageInput {
  conversationId: string;
  messageId: string;
  text: string;
  /** The workspace the sender named, if any (kept as sent). */
  workspaceId?: string;
  createdAt: number;
}

export interface QueuedMessageRecord extends QueueMessageInput {
  /** Arrival order within the conversation's queue (1-based, increasing; gaps after removals). */
  position: number;
}

export interface RecoveryReport {
  conversationsReset: number;
  turnsInterrupted: number;
  permissionRequestsExpired: number;
  /** In-flight steps written into the log as interrupted steps. */
  stepsPromoted: number;
  /** Tool calls that were running when the daemon stopped (their processes may still run). */
  interruptedToolRuns: InterruptedToolRun[];
}

/**
 * The store is several services behind one implementation: each consumer depends on the handles it
 * uses (the orchestrator on the catalog, log, turns, queue and workspaces; the permission gate on the
 * permission requests; transports on the catalog and log). One extension provides every handle with
 * the same object, so writes through one are seen by reads through another at once.
 */

/** Conversation rows: metadata, sticky settings, titles, status. */
export interface ConversationCatalog {
  /** Creates the conversation with `init` when missing; an existing one is returned unchanged. */
  ensureConversation(init: ConversationInit): Result<ConversationRecord>;
  /** Fails with STORE_CONVERSATION_EXISTS when the id is taken. */
  createConversation(input: CreateConversationInput): Result<ConversationRecord>;
  getConversation(id: string): ConversationRecord | undefined;
  updateConversation(id: string, patch: ConversationPatch): Result<ConversationRecord>;
  /** Newest activity first (then id, descending); keyset pagination. */
  listConversations(query?: ListQuery): Result<ListPage>;
}

/** The append-only log of chunks and its model-facing view. */
export interface ConversationLog {
  /**
   * Appends a whole step in one transaction: all of it becomes visible or none of it. Seqs are assigned
   * inside the transaction, consecutive from the conversation's last seq. Creates a missing
   * conversation from `init` (title from the first user text when no title is set).
   */
  appendStep(
    conversationId: string,
    messages: AppendMessage[],
    init?: Omit<ConversationInit, "id">,
    opts?: AppendOptions,
  ): Result<AppendResult>;
  /** The raw log, served by the (conversation_id, seq) primary key. */
  readWindow(conversationId: string, query?: WindowQuery): Result<ConversationWindow>;
  /**
   * The reconciled, model-facing view from `fromSeq` (default: the conversation's historyStartSeq):
   * chunks regrouped by message id; unanswered tool calls get a synthetic error result right after
   * their message; assistant messages holding only error chunks are left out.
   */
  loadHistory(conversationId: string, opts?: { fromSeq?: number }): Result<History>;
  /** Copies chunks `[fromSeq, uptoSeq]` of `fromId` to the end of `toId` in one transaction. */
  copyMessages(fromId: string, toId: string, range: CopyRange): Result<CopyResult>;
  /**
   * Compaction in place, in ONE transaction: creates the archive and copies the summarized range into
   * it (when `archive` is given), appends `messages` to the existing conversation `conversationId`
   * (seqs continue after its last seq: nothing is reset or reused) and moves its historyStartSeq to
   * the first of them, so the model view is either the old one or the compacted one, never a mix.
   * Fails with STORE_UNKNOWN_CONVERSATION (no implicit creation) or STORE_CONVERSATION_EXISTS (archive
   * id taken), leaving everything as it was.
   */
  appendCompaction(conversationId: string, input: CompactionInput): Result<CompactionResult>;
}

/** Turn rows, what a running step streamed (in-flight parts, tool starts) and boot recovery. */
export interface TurnRecords {
  beginTurn(turn: BeginTurn): Result<TurnRecord>;
  endTurn(turnId: string, end: EndTurn): Result<TurnRecord>;
  getTurn(turnId: string): TurnRecord | undefined;
  /** Oldest first. */
  listTurns(conversationId: string): TurnRecord[];
  /**
   * Makes what a running step streamed since its last flush durable (one transaction, appended after
   * the conversation's earlier parts). Cleared by appendStep's `settleInflight`; promoted into the
   * log by `recover` when a crash left it.
   */
  appendInflight(conversationId: string, step: InflightStep, parts: InflightPart[]): Result<void>;
  /**
   * Runs `fn`, whose writes (appendInflight of many running steps, due at the same moment) then commit
   * in one transaction instead of one each; a write that fails inside still rolls back alone. False
   * when the commit itself failed (nothing of `fn`'s writes is durable).
   */
  writeTogether(fn: () => void): boolean;
  /**
   * Boot recovery: active/queued conversations become idle, running turns become interrupted,
   * pending permission requests expire, in-flight steps are appended to the log (their streamed
   * content, results for their tool calls, and an error chunk STEP_INTERRUPTED_CODE). Queued messages
   * are left alone. Idempotent.
   */
  recover(): RecoveryReport;
}

/** Permission requests a tool call raised, and the user's decisions on them. */
export interface PermissionRequests {
  savePermissionRequest(req: SavePermissionRequest): Result<PermissionRequestRecord>;
  resolvePermissionRequest(
    requestId: string,
    decision: PermissionDecision,
    resolvedAt?: number,
  ): Result<PermissionRequestRecord>;
  listPendingPermissionRequests(conversationId: string): PermissionRequestRecord[];
}

/** The durable message queue of running turns. */
export interface MessageQueueStore {
  /**
   * Queues a message at the end of an existing conversation's queue; durable once this returns ok.
   * Fails with STORE_UNKNOWN_CONVERSATION, STORE_MESSAGE_EXISTS (id queued or in the log) or
   * STORE_INVALID_INPUT. Delivery is appendStep's `dequeue`.
   */
  enqueueMessage(input: QueueMessageInput): Result<QueuedMessageRecord>;
  /** Removes a queued message (a cancel); the value says whether it was queued. */
  removeQueuedMessage(conversationId: string, messageId: string): Result<boolean>;
  /** Empties a conversation's queue (closing it); the value is how many were removed. */
  clearQueuedMessages(conversationId: string): Result<number>;
  /** One conversation's queue in arrival order. */
  listQueuedMessages(conversationId: string): QueuedMessageRecord[];
  /** Every queued message, by conversation then arrival order (boot rebuilds its queues from it). */
  listAllQueuedMessages(): QueuedMessageRecord[];
}

export interface WorkspaceStore {
  listWorkspaces(): Workspace[];
  getWorkspace(id: string): Workspace | undefined;
  createWorkspace(input: WorkspaceInput): Result<Workspace>;
  updateWorkspace(id: string, patch: WorkspacePatch): Result<Workspace>;
  /** Refuses `default` and workspaces that still hold conversations. */
  deleteWorkspace(id: string): Result<void>;
}

/** A share link's row (PROTOCOL.md §8): the secret's hash, never the secret. Times are epoch ms. */
export interface ShareRecord {
  shareId: string;
  conversationId: string;
  /** SHA-256 of the secret, lower-case hex (64 characters). */
  secretHash: string;
  label?: string;
  createdAt: number;
  expiresAt: number;
  revokedAt?: number;
}

/** The share links of conversations: durable, so a share survives a daemon restart. */
export interface ShareStore {
  /**
   * Stores a new share of an existing conversation. Fails with STORE_UNKNOWN_CONVERSATION,
   * STORE_SHARE_EXISTS or STORE_INVALID_INPUT (naming the field).
   */
  createShare(share: Omit<ShareRecord, "revokedAt">): Result<ShareRecord>;
  getShare(shareId: string): ShareRecord | undefined;
  /** A conversation's shares, revoked and expired ones included, oldest first. */
  listShares(conversationId: string): ShareRecord[];
  /** Every share that expires after `now` (revoked ones included: relays learn of revocations), oldest first. */
  listUnexpiredShares(now: number): ShareRecord[];
  /** Marks a share revoked (idempotent: an earlier revocation time is kept). STORE_UNKNOWN_SHARE. */
  revokeShare(shareId: string, revokedAt: number): Result<ShareRecord>;
}

/**
 * The whole store: what `openConversationStore` returns and the extension provides under every
 * handle below. No service handle names it: consumers depend on the narrow ones.
 */
export interface ConversationStore
  extends ConversationCatalog,
    ConversationLog,
    TurnRecords,
    PermissionRequests,
    MessageQueueStore,
    WorkspaceStore,
    ShareStore {
  close(): void;
}

export const ConversationCatalog = defineService<ConversationCatalog>("conversation-store/catalog");
export const ConversationLog = defineService<ConversationLog>("conversation-store/log");
export const TurnRecords = defineService<TurnRecords>("conversation-store/turns");
export const PermissionRequests = defineService<PermissionRequests>("conversation-store/permissions");
export const MessageQueueStore = defineService<MessageQueueStore>("conversation-store/queue");
export const WorkspaceStore = defineService<WorkspaceStore>("conversation-store/workspaces");
export const ShareStore = defineService<ShareStore>("conversation-store/shares");
