import { z } from "zod";
import { MAX_ID_CHARS, MAX_PAGE_LIMIT, MAX_PATH_CHARS, MAX_QUERY_CHARS, MAX_TITLE_CHARS } from "../limits";
import { turnRequestFields } from "./client";
import {
  absolutePath,
  boundedString,
  ConversationStatusSchema,
  IdSchema,
  ModelInfoSchema,
  NonNegativeInt,
  named,
  PermissionDecisionSchema,
  PositiveInt,
  ReasoningEffortSchema,
} from "./common";
import { AgentEventSchema } from "./events";
import { StoredChunkSchema } from "./history";

// ── request bodies (inbound: capped) ──

export const ChatRequestBodySchema = named(
  z.object(turnRequestFields),
  "ChatRequestBody",
  "Starts a turn; the response is an NDJSON stream of AgentEvents until turn-sealed.",
);
export const QueueRequestSchema = named(
  z.object({ text: turnRequestFields.message, workspaceId: IdSchema.optional() }),
  "QueueRequest",
);
export const CompactRequestSchema = named(
  z.object({ keepLastN: NonNegativeInt.optional() }),
  "CompactRequest",
);
export const PermissionAnswerBodySchema = named(
  z.object({ decision: PermissionDecisionSchema, reason: z.string().max(500).optional() }),
  "PermissionAnswerBody",
);
export const ModelSettingBodySchema = named(
  z.object({ model: turnRequestFields.model.unwrap() }),
  "ModelSettingBody",
);
export const TitleSettingBodySchema = named(
  z.object({ title: boundedString(MAX_TITLE_CHARS) }),
  "TitleSettingBody",
);
export const CwdSettingBodySchema = named(z.object({ cwd: absolutePath(MAX_PATH_CHARS) }), "CwdSettingBody");
export const ReasoningEffortSettingBodySchema = named(
  z.object({ reasoningEffort: ReasoningEffortSchema }),
  "ReasoningEffortSettingBody",
);

// ── query strings (inbound strings, parsed into typed values) ──

/**
 * What the OpenAPI document says a query parameter is, where that differs from the string zod reads:
 * `limit=2` is an integer to a client, and `status=idle,closed` a comma-separated (explode: false) enum
 * list. Keyed by the parameter's schema (without `.optional()`).
 */
export const queryParamJson = new WeakMap<z.ZodType, { schema: Record<string, JsonLike>; explode?: false }>();
type JsonLike = string | number | boolean | null | JsonLike[] | { [k: string]: JsonLike };

/** A decimal integer in a query string, e.g. `limit=20`. */
function intParam(min: number, max: number) {
  const schema = z
    .string()
    .regex(/^\d{1,15}$/, { error: "must be a non-negative integer" })
    .transform(Number)
    .pipe(z.int().min(min).max(max));
  queryParamJson.set(schema, { schema: { type: "integer", minimum: min, maximum: max } });
  return schema;
}

/** `status=a,b`: statuses separated by commas. */
function statusListParam() {
  const schema = z
    .string()
    .max(MAX_QUERY_CHARS, { error: `must be at most ${MAX_QUERY_CHARS} characters` })
    .transform((s) =>
      s
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    )
    .pipe(z.array(ConversationStatusSchema));
  queryParamJson.set(schema, {
    schema: { type: "array", items: { type: "string", enum: [...ConversationStatusSchema.options] } },
    explode: false,
  });
  return schema;
}

export const ConversationListQuerySchema = z.object({
  status: statusListParam().optional(),
  workspaceId: IdSchema.optional(),
  q: z
    .string()
    .max(MAX_QUERY_CHARS, { error: `must be at most ${MAX_QUERY_CHARS} characters` })
    .optional(),
  limit: intParam(1, MAX_PAGE_LIMIT).optional(),
  cursor: boundedString(MAX_QUERY_CHARS).optional(),
});

export const ConversationWindowQuerySchema = z.object({
  sinceSeq: intParam(0, Number.MAX_SAFE_INTEGER).optional(),
  beforeSeq: intParam(1, Number.MAX_SAFE_INTEGER).optional(),
  limit: intParam(1, MAX_PAGE_LIMIT).optional(),
});

/** Path parameters (`:id`, `:requestId`, `:messageId`). */
export const PathIdSchema = boundedString(MAX_ID_CHARS);

// ── responses (outbound) ──

export const ErrorBodySchema = named(
  z.object({ error: z.string(), code: z.string().optional() }),
  "ErrorBody",
  "Body of every 4xx/5xx response. `code` (ext) is a stable machine-readable code.",
);
export const HealthResponseSchema = named(
  z.object({
    ok: z.literal(true),
    version: z.string(),
    uptimeSec: z.int().nonnegative(),
    activeTurns: z.int().nonnegative(),
    store: z.enum(["ok", "failing"]),
  }),
  "HealthResponse",
);
export const ModelsResponseSchema = named(
  z.object({
    models: z.array(z.string()),
    modelInfo: z.record(z.string(), ModelInfoSchema).optional(),
    defaultModel: z.string().optional(),
  }),
  "ModelsResponse",
  "Model names are `<credential>/<model>`.",
);
export const McpServerStatusSchema = named(
  z.object({
    name: z.string(),
    transport: z.enum(["stdio", "http"]),
    startup: z.enum(["eager", "lazy"]),
    state: z.enum(["disabled", "stopped", "starting", "ready", "restarting", "failed"]),
    tools: z.array(z.string()),
    restarts: NonNegativeInt,
    lastError: z.string().optional(),
  }),
  "McpServerStatus",
  "(ext) One configured MCP server.",
);
export const McpServersResponseSchema = named(
  z.object({ servers: z.array(McpServerStatusSchema) }),
  "McpServersResponse",
  "(ext) Every configured MCP server, in config order.",
);
export const ConversationMetaSchema = named(
  z.object({
    id: z.string(),
    title: z.string(),
    status: ConversationStatusSchema,
    workspaceId: z.string(),
    createdAt: NonNegativeInt,
    lastActivityAt: NonNegativeInt,
    model: z.string().optional(),
    compactedFrom: z.string().optional(),
  }),
  "ConversationMeta",
  "A conversation row. Timestamps are epoch milliseconds.",
);
export const ConversationListResponseSchema = named(
  z.object({ conversations: z.array(ConversationMetaSchema), nextCursor: z.string().optional() }),
  "ConversationListResponse",
  "Newest activity first.",
);
export const ConversationWindowResponseSchema = named(
  z.object({
    chunks: z.array(StoredChunkSchema),
    latestSeq: NonNegativeInt,
    more: z
      .object({ sinceSeq: NonNegativeInt.optional(), beforeSeq: NonNegativeInt.optional() })
      .optional()
      .describe(
        "Present when the server's byte cap cut the window short (at least one chunk is always returned). " +
          "Without `limit` the oldest chunks of the range came and the rest follows: ask again with " +
          "`sinceSeq` = more.sinceSeq (= latestSeq). With `limit` the newest came: the rest is before " +
          "more.beforeSeq.",
      ),
  }),
  "ConversationWindowResponse",
  "Chunks with sinceSeq < seq < beforeSeq, the newest `limit` of them, ascending; cut by bytes too (see `more`).",
);
export const ConversationStatusResponseSchema = named(
  z.object({ conversationId: z.string(), isActive: z.boolean(), status: ConversationStatusSchema }),
  "ConversationStatusResponse",
);
export const LongPollResponseSchema = named(
  z.object({
    events: z.array(z.object({ event: AgentEventSchema, n: PositiveInt })),
    cursor: z.string().nullable(),
  }),
  "LongPollResponse",
  "(ext) Events newer than `after`, and the cursor to pass as `after` next (null: no turn yet).",
);
export const OpenResponseSchema = named(z.object({ conversationId: z.string() }), "OpenResponse");
export const StopResponseSchema = named(
  z.object({ conversationId: z.string(), abortedTurn: z.boolean() }),
  "StopResponse",
);
export const CloseResponseSchema = named(
  z.object({ conversationId: z.string(), abortedTurn: z.boolean() }),
  "CloseResponse",
);
export const QueuedMessageSchema = named(
  z.object({ messageId: z.string(), text: z.string(), createdAt: NonNegativeInt }),
  "QueuedMessage",
  "A message waiting in a conversation's queue; createdAt is epoch milliseconds.",
);
export const QueueResponseSchema = named(
  z.object({ conversationId: z.string(), startedTurn: z.boolean(), queue: z.array(QueuedMessageSchema) }),
  "QueueResponse",
);
export const QueueCancelResponseSchema = named(
  z.object({ conversationId: z.string(), cancelled: z.boolean(), queue: z.array(QueuedMessageSchema) }),
  "QueueCancelResponse",
);
export const ModelSettingResponseSchema = named(
  z.object({ conversationId: z.string(), model: z.string().optional() }),
  "ModelSettingResponse",
);
export const TitleSettingResponseSchema = named(
  z.object({ conversationId: z.string(), title: z.string() }),
  "TitleSettingResponse",
);
export const CwdSettingResponseSchema = named(
  z.object({ conversationId: z.string(), cwd: z.string().optional() }),
  "CwdSettingResponse",
);
export const ReasoningEffortSettingResponseSchema = named(
  z.object({ conversationId: z.string(), reasoningEffort: ReasoningEffortSchema.optional() }),
  "ReasoningEffortSettingResponse",
);
export const CompactResponseSchema = named(
  z.object({
    conversationId: z.string(),
    newConversationId: z.string(),
    messagesSummarized: NonNegativeInt,
    messagesKept: NonNegativeInt,
  }),
  "CompactResponse",
);
export const PermissionAnswerResponseSchema = named(
  z.object({ conversationId: z.string(), requestId: z.string(), decision: PermissionDecisionSchema }),
  "PermissionAnswerResponse",
);

// ── share links (ext, PROTOCOL.md §8) ──

/** One day: a share's lifetime when the request names none. */
export const DEFAULT_SHARE_EXPIRES_SEC = 24 * 60 * 60;
/** Thirty days: the longest a share may live. */
export const MAX_SHARE_EXPIRES_SEC = 30 * 24 * 60 * 60;
/** Characters a share's label may have. */
export const MAX_SHARE_LABEL_CHARS = 200;

export const ShareCreateBodySchema = named(
  z.object({
    expiresInSec: z
      .number()
      .int()
      .min(1, "must be at least 1")
      .max(MAX_SHARE_EXPIRES_SEC, `must be at most ${MAX_SHARE_EXPIRES_SEC} (30 days)`)
      .optional(),
    label: boundedString(MAX_SHARE_LABEL_CHARS).optional(),
  }),
  "ShareCreateBody",
  "(ext) A read-only share link of the conversation; expiresInSec defaults to one day (at most 30 days).",
);
export const ShareCreateResponseSchema = named(
  z.object({
    shareId: z.string(),
    secret: z.string(),
    url: z.string(),
    expiresAt: NonNegativeInt,
  }),
  "ShareCreateResponse",
  "(ext) The only time the secret is shown (it is stored hashed). url opens the viewer page; expiresAt is epoch milliseconds.",
);
export const ShareSummarySchema = named(
  z.object({
    shareId: z.string(),
    label: z.string().optional(),
    createdAt: NonNegativeInt,
    expiresAt: NonNegativeInt,
    viewers: NonNegativeInt,
  }),
  "ShareSummary",
  "(ext) A live (neither revoked nor expired) share; viewers = its open viewer connections.",
);
export const ShareListResponseSchema = named(
  z.object({ shares: z.array(ShareSummarySchema) }),
  "ShareListResponse",
);
export const ShareRevokeResponseSchema = named(
  z.object({ shareId: z.string(), revoked: z.literal(true) }),
  "ShareRevokeResponse",
);
