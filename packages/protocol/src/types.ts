/**
 * Dispatch wire protocol v1 — pure TypeScript types (no runtime imports, safe for frontend bundles).
 *
 * Mirrors /PROTOCOL.md. Names and shapes marked (compat) are fixed by an existing frontend; (ext) items
 * are ours. `?` means optional and omitted when absent (never `null`). The zod schemas in `schemas.ts`
 * are checked at compile time to infer exactly these types, so the two cannot drift.
 */

// ───────────────────────────── shared scalars ─────────────────────────────

/** (compat) `reasoningEffort` values accepted by `chat.send` and `POST /chat`. */
export type ReasoningEffort = "low" | "medium" | "high" | "xhigh" | "max";

/** (compat) Conversation lifecycle status. */
export type ConversationStatus = "active" | "queued" | "idle" | "closed";

/**
 * (ext) Permission for one turn, given by the client that starts it (`dispatch --allow`, `--yes`):
 * tool calls the policy would ask about are allowed (`all`: every tool; `tools`: these names). Policy
 * denials stay denials. Honoured only from token-holding clients; others get a FORBIDDEN error.
 */
export interface TurnGrant {
  tools?: string[];
  all?: boolean;
}

/** (ext) Answer to a `permission-request`. `always` allows and remembers the rule. */
export type PermissionDecision = "allow" | "deny" | "always";

/** Token accounting for one step or a whole turn. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** Why a turn ended (`done.reason`). */
export type DoneReason =
  | "stop"
  | "tool-calls"
  | "length"
  | "content-filter"
  | "max-steps"
  | "error"
  | "aborted"
  | "interrupted"
  | "other";

/** Output stream of a running tool. */
export type ToolOutputStream = "stdout" | "stderr";

/** An image attached to a user message. `url` may be a `data:` URL. */
export interface ImageAttachment {
  url: string;
  mimeType?: string;
}

/** What the daemon knows about a model (`GET /models` → `modelInfo`). */
export interface ModelInfo {
  contextWindow?: number;
  vision?: boolean;
}

// ───────────────────────────── §7 surfaces ─────────────────────────────

/** Absent scope = conversation-scoped. */
export type SurfaceScope = "global" | "conversation";

/** (compat) One entry of the surface catalog. */
export interface CatalogEntry {
  id: string;
  region: string;
  title: string;
  scope?: SurfaceScope;
}

/** (compat) What a field's control invokes. */
export interface FieldAction {
  actionId: string;
}

export interface ToggleField {
  kind: "toggle";
  label: string;
  value: boolean;
  action: FieldAction;
}
/** `value` in 0..1. */
export interface ProgressField {
  kind: "progress";
  label: string;
  value: number;
}
export interface SelectorOption {
  value: string;
  label: string;
}
export interface SelectorField {
  kind: "selector";
  label: string;
  value: string;
  options: SelectorOption[];
  action: FieldAction;
}
export interface StatField {
  kind: "stat";
  label: string;
  value: string;
}
export interface NumberField {
  kind: "number";
  label: string;
  value: number;
  min?: number;
  max?: number;
  step?: number;
  unit?: string;
  action: FieldAction;
}
export interface ButtonField {
  kind: "button";
  label: string;
  action: FieldAction;
}
/** Clients without renderer `rendererId` skip the field. */
export interface CustomField {
  kind: "custom";
  rendererId: string;
  payload: unknown;
}

/** (compat) A surface field, discriminated by `kind`. */
export type Field =
  | ToggleField
  | ProgressField
  | SelectorField
  | StatField
  | NumberField
  | ButtonField
  | CustomField;
export type FieldKind = Field["kind"];
export type FieldOf<K extends FieldKind> = Extract<Field, { kind: K }>;

/** (compat) Full description of a surface. */
export interface SurfaceSpec {
  id: string;
  region: string;
  title: string;
  fields: Field[];
}

/** (compat) Payload of the `update` server message (full spec, not a diff). */
export interface SurfaceUpdate {
  surfaceId: string;
  spec: SurfaceSpec;
  conversationId?: string;
}

// ───────────────────────────── §5 history ─────────────────────────────

export type Role = "system" | "user" | "assistant" | "tool";

export interface TextChunk {
  type: "text";
  text: string;
}
export interface ThinkingChunk {
  type: "thinking";
  text: string;
  /** (ext) Provider signature of the thinking block (Anthropic requires it back with tool results). */
  signature?: string;
}
export interface ToolCallChunk {
  type: "tool-call";
  toolCallId: string;
  toolName: string;
  input: unknown;
  stepId?: string;
}
export interface ToolResultChunk {
  type: "tool-result";
  toolCallId: string;
  toolName: string;
  content: string;
  isError: boolean;
  stepId?: string;
}
export interface ErrorChunk {
  type: "error";
  message: string;
  code?: string;
}
export interface SystemChunk {
  type: "system";
  text: string;
}
export interface ImageChunk {
  type: "image";
  url: string;
  mimeType?: string;
}

/** (compat) One unit of the append-only conversation log. */
export type Chunk =
  | TextChunk
  | ThinkingChunk
  | ToolCallChunk
  | ToolResultChunk
  | ErrorChunk
  | SystemChunk
  | ImageChunk;
export type ChunkType = Chunk["type"];
export type ChunkOf<T extends ChunkType> = Extract<Chunk, { type: T }>;

/** (compat) A chunk with its per-conversation `seq` (1-based, gap-free, never reused). */
export interface StoredChunk {
  seq: number;
  role: Role;
  chunk: Chunk;
  /** (ext) groups chunks into messages. */
  messageId?: string;
}

// ───────────────────────────── §4 AgentEvent ─────────────────────────────

interface TurnEventBase {
  conversationId: string;
  turnId: string;
}

/** First event of a turn, so late joiners see the prompt. */
export interface UserMessageEvent extends TurnEventBase {
  type: "user-message";
  text: string;
}
export interface TurnStartEvent extends TurnEventBase {
  type: "turn-start";
}
export interface TextDeltaEvent extends TurnEventBase {
  type: "text-delta";
  delta: string;
}
export interface ReasoningDeltaEvent extends TurnEventBase {
  type: "reasoning-delta";
  delta: string;
}
export interface ToolCallEvent extends TurnEventBase {
  type: "tool-call";
  stepId?: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
}
export interface ToolOutputEvent extends TurnEventBase {
  type: "tool-output";
  toolCallId: string;
  data: string;
  stream: ToolOutputStream;
}
export interface ToolResultEvent extends TurnEventBase {
  type: "tool-result";
  stepId?: string;
  toolCallId: string;
  toolName: string;
  content: string;
  isError: boolean;
  durationMs?: number;
}
/** (ext) A tool call waits for the user's decision. */
export interface PermissionRequestEvent extends TurnEventBase {
  type: "permission-request";
  requestId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
  reason: string;
}
/** (ext) */
export interface PermissionResolvedEvent extends TurnEventBase {
  type: "permission-resolved";
  requestId: string;
  decision: PermissionDecision;
}
export interface UsageEvent extends TurnEventBase {
  type: "usage";
  usage: Usage;
  stepId?: string;
}
export interface StepCompleteEvent extends TurnEventBase {
  type: "step-complete";
  stepId: string;
  ttftMs?: number;
  decodeMs?: number;
  genTotalMs?: number;
}
/** Queued messages delivered mid-turn. */
export interface SteeringEvent extends TurnEventBase {
  type: "steering";
  text: string;
}
/** Transient, not persisted. */
export interface ProviderRetryEvent extends TurnEventBase {
  type: "provider-retry";
  attempt: number;
  delayMs: number;
  message: string;
  code?: string;
}
export interface ErrorEvent extends TurnEventBase {
  type: "error";
  message: string;
  code?: string;
}
/** Always followed by `turn-sealed`. */
export interface DoneEvent extends TurnEventBase {
  type: "done";
  reason: DoneReason;
  durationMs?: number;
  usage?: Usage;
  contextSize?: number;
}
/** The turn is fully persisted; history is final. */
export interface TurnSealedEvent extends TurnEventBase {
  type: "turn-sealed";
}
/** The only event without `turnId`. */
export interface StatusEvent {
  type: "status";
  conversationId: string;
  status: ConversationStatus;
}

/** (compat) Payload of `chat.delta` and the lines of the `POST /chat` NDJSON stream. */
export type AgentEvent =
  | UserMessageEvent
  | TurnStartEvent
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | ToolCallEvent
  | ToolOutputEvent
  | ToolResultEvent
  | PermissionRequestEvent
  | PermissionResolvedEvent
  | UsageEvent
  | StepCompleteEvent
  | SteeringEvent
  | ProviderRetryEvent
  | ErrorEvent
  | DoneEvent
  | TurnSealedEvent
  | StatusEvent;
export type AgentEventType = AgentEvent["type"];
/** `AgentEventOf<"text-delta">` = the text-delta member. */
export type AgentEventOf<T extends AgentEventType> = Extract<AgentEvent, { type: T }>;

// ───────────────────────────── §2 client → server ─────────────────────────────

interface ClientMessageBase {
  /** (ext) When present the server answers with exactly one `ack` or error carrying `replyTo: id`. */
  id?: string;
}

/** (compat) Replies `surface`, then `update` on every change. */
export interface SubscribeMessage extends ClientMessageBase {
  type: "subscribe";
  surfaceId: string;
  conversationId?: string;
}
export interface UnsubscribeMessage extends ClientMessageBase {
  type: "unsubscribe";
  surfaceId: string;
  conversationId?: string;
}
export interface InvokeMessage extends ClientMessageBase {
  type: "invoke";
  surfaceId: string;
  actionId: string;
  payload?: unknown;
  conversationId?: string;
}
/** (compat) Starts a turn; no `conversationId` → the server mints one. */
export interface ChatSendMessage extends ClientMessageBase {
  type: "chat.send";
  conversationId?: string;
  message: string;
  model?: string;
  cwd?: string;
  reasoningEffort?: ReasoningEffort;
  workspaceId?: string;
  computerId?: string;
  images?: ImageAttachment[];
  /** (ext) See TurnGrant. */
  grant?: TurnGrant;
}
/** (ext) Resume point: replay only events after `n` of turn `turnId`. */
export interface ResumePoint {
  turnId: string;
  n: number;
}
export interface ChatSubscribeMessage extends ClientMessageBase {
  type: "chat.subscribe";
  conversationId: string;
  resume?: ResumePoint;
}
export interface ChatUnsubscribeMessage extends ClientMessageBase {
  type: "chat.unsubscribe";
  conversationId: string;
}
export interface ChatQueueMessage extends ClientMessageBase {
  type: "chat.queue";
  conversationId: string;
  text: string;
  workspaceId?: string;
}
export interface ChatQueueCancelMessage extends ClientMessageBase {
  type: "chat.queue.cancel";
  conversationId: string;
  messageId: string;
}
/** (ext) */
export interface ChatStopMessage extends ClientMessageBase {
  type: "chat.stop";
  conversationId: string;
}
/** (ext) Answers a `permission-request` event. */
export interface ChatPermissionMessage extends ClientMessageBase {
  type: "chat.permission";
  conversationId: string;
  requestId: string;
  decision: PermissionDecision;
}
/** (ext) → `pong`. */
export interface PingMessage extends ClientMessageBase {
  type: "ping";
}
/** (ext) Asks for protocol level `protocol` (2 = everything marked ext); the first message, at most once. */
export interface HelloMessage extends ClientMessageBase {
  type: "hello";
  protocol: number;
  client?: { name: string; version: string };
  /** (ext, level 2) Batch a turn's consecutive events within this many ms into `chat.batch` (≤ 250). */
  batchMs?: number;
}
/**
 * (ext, level 2) Watch a channel: `conversation:<id>` (as chat.subscribe), `conversation:*` or
 * `workspace:<workspaceId>:*`. `resume` maps conversation ids to the last event seen.
 */
export interface ChannelSubscribeMessage extends ClientMessageBase {
  type: "channel.subscribe";
  channel: string;
  resume?: Record<string, ResumePoint>;
}
export interface ChannelUnsubscribeMessage extends ClientMessageBase {
  type: "channel.unsubscribe";
  channel: string;
}

export type ClientMessage =
  | SubscribeMessage
  | UnsubscribeMessage
  | InvokeMessage
  | ChatSendMessage
  | ChatSubscribeMessage
  | ChatUnsubscribeMessage
  | ChatQueueMessage
  | ChatQueueCancelMessage
  | ChatStopMessage
  | ChatPermissionMessage
  | PingMessage
  | HelloMessage
  | ChannelSubscribeMessage
  | ChannelUnsubscribeMessage;
export type ClientMessageType = ClientMessage["type"];
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

/**
 * Who may send a message or call a route (PROTOCOL.md §8): `anyone` (a share viewer too: greeting,
 * liveness, documents), `conversation` (an owner, or a share viewer of the conversation it is about),
 * `owner`. The operations core refuses a caller below it with `FORBIDDEN` before anything else.
 */
export type AccessRequirement = "anyone" | "conversation" | "owner";

// ───────────────────────────── §3 server → client ─────────────────────────────

/** (compat) First frame on every connection and again when the set of surfaces changes. */
export interface CatalogMessage {
  type: "catalog";
  catalog: CatalogEntry[];
}
export interface SurfaceMessage {
  type: "surface";
  spec: SurfaceSpec;
  conversationId?: string;
}
export interface UpdateMessage {
  type: "update";
  update: SurfaceUpdate;
}
/** (compat) Non-chat errors. `code` (ext) is a stable machine-readable code. */
export interface ErrorMessage {
  type: "error";
  surfaceId?: string;
  message: string;
  replyTo?: string;
  code?: string;
}
/** (compat) `n` (ext) = 1-based index of the event within its turn. */
export interface ChatDeltaMessage {
  type: "chat.delta";
  event: AgentEvent;
  n?: number;
}
/** (ext, level 2) Consecutive events of one turn within the `batchMs` window of `hello`. */
export interface ChatBatchMessage {
  type: "chat.batch";
  events: { event: AgentEvent; n?: number }[];
}
/** (compat) Errors of chat ops. `code` (ext) is a stable machine-readable code. */
export interface ChatErrorMessage {
  type: "chat.error";
  conversationId?: string;
  message: string;
  replyTo?: string;
  code?: string;
}
export interface ConversationOpenMessage {
  type: "conversation.open";
  conversationId: string;
  workspaceId: string;
}
export interface ConversationStatusChangedMessage {
  type: "conversation.statusChanged";
  conversationId: string;
  status: ConversationStatus;
  workspaceId: string;
}
export interface ConversationCompactedMessage {
  type: "conversation.compacted";
  conversationId: string;
  newConversationId: string;
  messagesSummarized: number;
  messagesKept: number;
}
/** (ext) */
export interface ConversationPresenceMessage {
  type: "conversation.presence";
  conversationId: string;
  watchers: number;
  /** (ext) How many of the watchers are share viewers; absent when none. */
  viewers?: number;
  /**
   * (ext) Sent by relays: whether the daemon that publishes the conversation is online (its
   * heartbeat in Redis). Offline: the history stays readable; live events resume when it is back.
   */
  owner?: "online" | "offline";
}
/** (ext) */
export interface AckMessage {
  type: "ack";
  replyTo: string;
}
/** (ext) */
export interface PongMessage {
  type: "pong";
}
/** (ext) The answer to `hello`: the level the connection now speaks. */
export interface HelloReplyMessage {
  type: "hello";
  protocol: number;
  server: { name: string; version: string };
  features: string[];
  /** (ext) Only to a share viewer: the share it came through and the one conversation it may watch. */
  share?: { shareId: string; conversationId: string };
}

export type ServerMessage =
  | CatalogMessage
  | SurfaceMessage
  | UpdateMessage
  | ErrorMessage
  | ChatDeltaMessage
  | ChatBatchMessage
  | ChatErrorMessage
  | ConversationOpenMessage
  | ConversationStatusChangedMessage
  | ConversationCompactedMessage
  | ConversationPresenceMessage
  | AckMessage
  | PongMessage
  | HelloReplyMessage;
export type ServerMessageType = ServerMessage["type"];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

// ───────────────────────────── §6 HTTP ─────────────────────────────

/** Every 4xx/5xx body. `code` (ext) is a stable machine-readable code. */
export interface ErrorBody {
  error: string;
  code?: string;
}

/** `GET /health` (reachable without the token from loopback). */
export interface HealthResponse {
  ok: true;
  version: string;
  /** Whole seconds since the HTTP API started. */
  uptimeSec: number;
  /** Turns generating right now, across all conversations. */
  activeTurns: number;
  /** `ok` when a read of the database succeeds, else `failing`. */
  store: "ok" | "failing";
}

/** `GET /models`; names are `<credential>/<model>`. */
export interface ModelsResponse {
  models: string[];
  modelInfo?: Record<string, ModelInfo>;
  /** (ext) The model a turn without one uses. */
  defaultModel?: string;
}

/** (ext) The state of one configured MCP server. */
export type McpServerState = "disabled" | "stopped" | "starting" | "ready" | "restarting" | "failed";

/** (ext) One configured MCP server as `GET /mcp/servers` and the `mcp` surface show it. */
export interface McpServerStatus {
  name: string;
  transport: "stdio" | "http";
  startup: "eager" | "lazy";
  state: McpServerState;
  /** Names offered to the model (`mcp__<server>__<tool>`); empty unless ready. */
  tools: string[];
  /** Restarts after crashes since the daemon started (manual restarts included). */
  restarts: number;
  /** The last failure (start, crash, protocol), kept after a recovery; never holds header or env values. */
  lastError?: string;
}

/** (ext) `GET /mcp/servers`. */
export interface McpServersResponse {
  servers: McpServerStatus[];
}

/** `POST /chat` → NDJSON stream of AgentEvents until `turn-sealed`. `images` is (ext). */
export interface ChatRequestBody {
  conversationId?: string;
  message: string;
  model?: string;
  cwd?: string;
  reasoningEffort?: ReasoningEffort;
  workspaceId?: string;
  images?: ImageAttachment[];
  /** (ext) See TurnGrant. */
  grant?: TurnGrant;
}

/** (compat) A conversation row. Timestamps are epoch milliseconds. */
export interface ConversationMeta {
  id: string;
  title: string;
  status: ConversationStatus;
  workspaceId: string;
  createdAt: number;
  lastActivityAt: number;
  model?: string;
  compactedFrom?: string;
}

/** `GET /conversations` query, after parsing (`status=a,b` becomes an array). */
export interface ConversationListQuery {
  status?: ConversationStatus[];
  workspaceId?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}
/** `GET /conversations` → newest activity first. */
export interface ConversationListResponse {
  conversations: ConversationMeta[];
  nextCursor?: string;
}

/** `GET /conversations/:id` query, after parsing. */
export interface ConversationWindowQuery {
  sinceSeq?: number;
  beforeSeq?: number;
  limit?: number;
}
/** Chunks with `sinceSeq < seq < beforeSeq`, the newest `limit`, ascending. */
export interface ConversationWindowResponse {
  chunks: StoredChunk[];
  latestSeq: number;
  /**
   * The server's byte cap cut the window short. Without `limit`: the rest follows, ask again with
   * `sinceSeq: more.sinceSeq` (= latestSeq). With `limit`: the rest is before `more.beforeSeq`.
   */
  more?: { sinceSeq?: number; beforeSeq?: number };
}
export type ConversationWindow = ConversationWindowResponse;

/** `GET /conversations/:id/status` */
/** (ext) `GET /conversations/:id/events?after=&waitMs=` (PROTOCOL.md §8). */
export interface LongPollResponse {
  events: { event: AgentEvent; n: number }[];
  /** `<turnId>:<n>` of the newest event seen; pass it as `after`. Null: no turn yet. */
  cursor: string | null;
}
export interface ConversationStatusResponse {
  conversationId: string;
  isActive: boolean;
  status: ConversationStatus;
}

/** `POST /conversations/:id/open` */
export interface OpenResponse {
  conversationId: string;
}
/** `POST /conversations/:id/stop` */
export interface StopResponse {
  conversationId: string;
  abortedTurn: boolean;
}
/** `POST /conversations/:id/close` */
export interface CloseResponse {
  conversationId: string;
  abortedTurn: boolean;
}

/** A message waiting in a conversation's queue. `createdAt` is epoch milliseconds. */
export interface QueuedMessage {
  messageId: string;
  text: string;
  createdAt: number;
}
/** `POST /conversations/:id/queue` body. */
export interface QueueRequest {
  text: string;
  workspaceId?: string;
}
export interface QueueResponse {
  conversationId: string;
  startedTurn: boolean;
  queue: QueuedMessage[];
}
/** `DELETE /conversations/:id/queue/:messageId` */
export interface QueueCancelResponse {
  conversationId: string;
  cancelled: boolean;
  queue: QueuedMessage[];
}

/** `PUT /conversations/:id/model` body; `GET`/`PUT` answer `ModelSettingResponse`. */
export interface ModelSettingBody {
  model: string;
}
export interface ModelSettingResponse {
  conversationId: string;
  model?: string;
}
/** `PUT /conversations/:id/title` body; `GET`/`PUT` answer `TitleSettingResponse`. */
export interface TitleSettingBody {
  title: string;
}
export interface TitleSettingResponse {
  conversationId: string;
  title: string;
}
/** `PUT /conversations/:id/cwd` body; `GET`/`PUT` answer `CwdSettingResponse`. */
export interface CwdSettingBody {
  cwd: string;
}
export interface CwdSettingResponse {
  conversationId: string;
  cwd?: string;
}
/** `PUT /conversations/:id/reasoning-effort` body; `GET`/`PUT` answer `ReasoningEffortSettingResponse`. */
export interface ReasoningEffortSettingBody {
  reasoningEffort: ReasoningEffort;
}
export interface ReasoningEffortSettingResponse {
  conversationId: string;
  reasoningEffort?: ReasoningEffort;
}

/** `POST /conversations/:id/compact` */
export interface CompactRequest {
  keepLastN?: number;
}
export interface CompactResponse {
  conversationId: string;
  newConversationId: string;
  messagesSummarized: number;
  messagesKept: number;
}

/** (ext) `POST /conversations/:id/permissions/:requestId` */
export interface PermissionAnswerBody {
  decision: PermissionDecision;
  /** (ext) Why a deny was given, as the tool's result shows it (default "denied by the user"). */
  reason?: string;
}
export interface PermissionAnswerResponse {
  conversationId: string;
  requestId: string;
  decision: PermissionDecision;
}

/** (ext) `POST /conversations/:id/shares` */
export interface ShareCreateBody {
  /** Seconds until the share expires: 1 … 2 592 000 (30 days); default 86 400 (one day). */
  expiresInSec?: number;
  label?: string;
}
export interface ShareCreateResponse {
  shareId: string;
  /** Shown only here: the daemon keeps its SHA-256. */
  secret: string;
  /** The viewer page, the secret in its fragment (never sent to a server). */
  url: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}
/** (ext) A live share, in `GET /conversations/:id/shares`. */
export interface ShareSummary {
  shareId: string;
  label?: string;
  createdAt: number;
  expiresAt: number;
  /** Open viewer connections. */
  viewers: number;
}
export interface ShareListResponse {
  shares: ShareSummary[];
}
/** (ext) `DELETE /shares/:shareId` */
export interface ShareRevokeResponse {
  shareId: string;
  revoked: true;
}

// ───────────────────────────── protocol errors ─────────────────────────────

/** Stable codes for frames or bodies that fail validation at the boundary. */
export type ProtocolErrorCode =
  | "PROTOCOL_INVALID_JSON"
  | "PROTOCOL_NOT_AN_OBJECT"
  | "PROTOCOL_BINARY_FRAME"
  | "PROTOCOL_MISSING_TYPE"
  | "PROTOCOL_UNKNOWN_TYPE"
  | "PROTOCOL_INVALID_FIELD"
  | "PROTOCOL_TOO_LARGE";

/** A frame that could not be parsed. The transport answers `chat.error` when `isChat`, else `error`. */
export interface ProtocolError {
  code: ProtocolErrorCode;
  /** Names the message type, the field path and the problem. */
  message: string;
  /** The frame's `id` when it was a string, even if the rest was invalid. */
  replyToId?: string;
  /** The frame's `type` starts with "chat.". */
  isChat: boolean;
}

/** Result of `parseClientMessage`. */
export type ParseClientMessageResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; error: ProtocolError };

/** Result of `parseAgentEvent`, `parseServerMessage` and the HTTP body parsers. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };
