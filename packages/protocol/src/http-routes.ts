/**
 * The HTTP API (PROTOCOL.md §6) as data: every route with its parameters, body and response schema.
 * The OpenAPI document is generated from this table, and a server may use it to check its own routing.
 */
import { z } from "zod";
import {
  ChatRequestBodySchema,
  CloseResponseSchema,
  CompactRequestSchema,
  CompactResponseSchema,
  ConversationListQuerySchema,
  ConversationListResponseSchema,
  ConversationStatusResponseSchema,
  ConversationWindowQuerySchema,
  ConversationWindowResponseSchema,
  CwdSettingBodySchema,
  CwdSettingResponseSchema,
  HealthResponseSchema,
  LongPollResponseSchema,
  McpServersResponseSchema,
  ModelSettingBodySchema,
  ModelSettingResponseSchema,
  ModelsResponseSchema,
  OpenResponseSchema,
  PermissionAnswerBodySchema,
  PermissionAnswerResponseSchema,
  QueueCancelResponseSchema,
  QueueRequestSchema,
  QueueResponseSchema,
  ReasoningEffortSettingBodySchema,
  ReasoningEffortSettingResponseSchema,
  ShareCreateBodySchema,
  ShareCreateResponseSchema,
  ShareListResponseSchema,
  ShareRevokeResponseSchema,
  StopResponseSchema,
  TitleSettingBodySchema,
  TitleSettingResponseSchema,
} from "./schemas/http";
import type { AccessRequirement } from "./types";

export type HttpMethod = "get" | "post" | "put" | "delete";

/**
 * Error statuses a route can answer besides 401/403/500, which every route can. The generator adds
 * 400 (HTTP_INVALID_PATH) to routes with path parameters and 400/413/415 to routes with a body.
 */
export type HttpErrorStatus = 400 | 404 | 406 | 409 | 413 | 415 | 429 | 502 | 503;

/** Who may call a route (PROTOCOL.md §8): `conversation` means the route's `{id}` conversation. */
export type HttpRouteRole = AccessRequirement;

export interface HttpRoute {
  method: HttpMethod;
  /** Who may call it; a caller below it gets `403 { code: "FORBIDDEN" }` before the handler runs. */
  role: HttpRouteRole;
  /** OpenAPI template, e.g. `/conversations/{id}/queue/{messageId}`. */
  path: string;
  operationId: string;
  summary: string;
  /** (ext) routes are ours; the rest are fixed by the existing frontend. */
  ext?: true;
  /** Query schema: string inputs parsed into typed values. */
  query?: z.ZodObject;
  /** Descriptions of query parameters, by name. */
  queryDocs?: Record<string, string>;
  body?: z.ZodType;
  /** A body may be omitted (e.g. compact with defaults). */
  bodyOptional?: true;
  /**
   * 200 JSON body; `"ndjson"` = a stream of AgentEvents; `"event-stream"` = server-sent events of
   * chat.delta frames; `"json-document"` = any JSON object; `"prometheus-text"` = the Prometheus text
   * exposition format.
   */
  response: z.ZodType | "ndjson" | "event-stream" | "json-document" | "prometheus-text";
  /** Reachable without the token from loopback (it holds no conversation data or secrets). */
  public?: true;
  errors: HttpErrorStatus[];
}

/** Path parameters that appear in route templates, with their meaning. */
export const httpPathParams: Record<string, string> = {
  id: "Conversation id.",
  messageId: "Id of a queued message.",
  requestId: "Id of a pending permission request.",
  shareId: "Id of a share link.",
};

const settingRoutes = (
  segment: string,
  name: string,
  body: z.ZodType,
  response: z.ZodType,
  errors: HttpErrorStatus[] = [400, 404],
): HttpRoute[] => [
  {
    method: "get",
    path: `/conversations/{id}/${segment}`,
    operationId: `get${name}`,
    role: "owner",
    summary: `Read the conversation's ${segment}.`,
    response,
    errors: [404],
  },
  {
    method: "put",
    path: `/conversations/{id}/${segment}`,
    operationId: `set${name}`,
    role: "owner",
    summary: `Change the conversation's ${segment}.`,
    body,
    response,
    errors,
  },
];

/** The query parameters of the event routes, for the document (the routes parse them themselves). */
const EventsPollQueryDocSchema = z.object({
  after: z.string().optional(),
  waitMs: z.string().optional(),
  protocol: z.string().optional(),
});
const EventsStreamQueryDocSchema = z.object({ channel: z.string(), protocol: z.string().optional() });

export const httpRoutes: readonly HttpRoute[] = [
  {
    method: "get",
    path: "/health",
    operationId: "getHealth",
    role: "anyone",
    summary: "Liveness: version, uptime, running turns and whether the database answers.",
    public: true,
    response: HealthResponseSchema,
    errors: [],
  },
  {
    method: "get",
    path: "/models",
    operationId: "listModels",
    role: "owner",
    summary: "Models the daemon can use, named `<credential>/<model>`.",
    response: ModelsResponseSchema,
    errors: [],
  },
  {
    method: "post",
    path: "/chat",
    operationId: "chat",
    role: "owner",
    summary: "Start a turn and stream its AgentEvents as NDJSON until turn-sealed.",
    body: ChatRequestBodySchema,
    response: "ndjson",
    errors: [400, 409, 503],
  },
  {
    method: "get",
    path: "/conversations",
    operationId: "listConversations",
    role: "owner",
    summary: "Conversations, newest activity first.",
    query: ConversationListQuerySchema,
    queryDocs: {
      status: "Comma-separated statuses to include, e.g. `active,idle`.",
      workspaceId: "Only conversations of this workspace.",
      q: "Search text.",
      limit: "Page size.",
      cursor: "`nextCursor` of the previous page.",
    },
    response: ConversationListResponseSchema,
    errors: [400],
  },
  {
    method: "get",
    path: "/conversations/{id}",
    operationId: "getConversationWindow",
    role: "conversation",
    summary: "History chunks with sinceSeq < seq < beforeSeq, the newest `limit` of them, ascending.",
    query: ConversationWindowQuerySchema,
    queryDocs: {
      sinceSeq: "Only chunks after this seq.",
      beforeSeq: "Only chunks before this seq.",
      limit: "At most this many (the newest).",
    },
    response: ConversationWindowResponseSchema,
    errors: [400, 404],
  },
  {
    method: "get",
    path: "/conversations/{id}/status",
    operationId: "getConversationStatus",
    role: "conversation",
    summary: "Whether a turn is running, and the conversation status.",
    response: ConversationStatusResponseSchema,
    errors: [404],
  },
  {
    method: "post",
    path: "/conversations/{id}/open",
    operationId: "openConversation",
    role: "owner",
    summary: "Ask every connected frontend to open the conversation (broadcasts conversation.open).",
    response: OpenResponseSchema,
    errors: [404],
  },
  {
    method: "post",
    path: "/conversations/{id}/stop",
    operationId: "stopConversation",
    role: "owner",
    summary: "Abort the running turn, if any.",
    response: StopResponseSchema,
    errors: [404],
  },
  {
    method: "post",
    path: "/conversations/{id}/close",
    operationId: "closeConversation",
    role: "owner",
    summary: "Abort the running turn and mark the conversation closed.",
    response: CloseResponseSchema,
    errors: [404],
  },
  {
    method: "post",
    path: "/conversations/{id}/queue",
    operationId: "queueMessage",
    role: "owner",
    summary: "Start a turn with the text when idle, else queue it for the running turn.",
    body: QueueRequestSchema,
    response: QueueResponseSchema,
    errors: [400, 404, 409, 429, 503],
  },
  {
    method: "delete",
    path: "/conversations/{id}/queue/{messageId}",
    operationId: "cancelQueuedMessage",
    role: "owner",
    summary:
      "Remove a queued message. An unknown (or already delivered) message id is not an error: `cancelled` is false.",
    response: QueueCancelResponseSchema,
    errors: [404],
  },
  ...settingRoutes("model", "Model", ModelSettingBodySchema, ModelSettingResponseSchema),
  ...settingRoutes("title", "Title", TitleSettingBodySchema, TitleSettingResponseSchema),
  ...settingRoutes("cwd", "Cwd", CwdSettingBodySchema, CwdSettingResponseSchema),
  ...settingRoutes(
    "reasoning-effort",
    "ReasoningEffort",
    ReasoningEffortSettingBodySchema,
    ReasoningEffortSettingResponseSchema,
  ),
  {
    method: "post",
    path: "/conversations/{id}/compact",
    operationId: "compactConversation",
    role: "owner",
    summary:
      "Summarize the older messages with the conversation's model, keeping the last `keepLastN` verbatim. The conversation keeps its id (its seq keeps growing); a new closed conversation (`compactedFrom` = this id) archives the summarized messages.",
    body: CompactRequestSchema,
    bodyOptional: true,
    response: CompactResponseSchema,
    errors: [400, 404, 409, 502, 503],
  },
  {
    method: "post",
    path: "/conversations/{id}/permissions/{requestId}",
    operationId: "answerPermission",
    role: "owner",
    summary: "Answer a pending permission-request.",
    ext: true,
    body: PermissionAnswerBodySchema,
    response: PermissionAnswerResponseSchema,
    errors: [400, 404],
  },
  {
    method: "post",
    path: "/conversations/{id}/shares",
    operationId: "createShare",
    role: "owner",
    summary:
      "Create a read-only share link of the conversation. The secret is shown only in this answer; `url` opens the viewer page with the secret in its fragment.",
    ext: true,
    body: ShareCreateBodySchema,
    bodyOptional: true,
    response: ShareCreateResponseSchema,
    errors: [400, 404],
  },
  {
    method: "get",
    path: "/conversations/{id}/shares",
    operationId: "listShares",
    role: "owner",
    summary: "The conversation's live share links (neither revoked nor expired), with their viewer counts.",
    ext: true,
    response: ShareListResponseSchema,
    errors: [404],
  },
  {
    method: "delete",
    path: "/shares/{shareId}",
    operationId: "revokeShare",
    role: "owner",
    summary: "Revoke a share link: its viewers are closed with 4403 at once, further requests get 401.",
    ext: true,
    response: ShareRevokeResponseSchema,
    errors: [404],
  },
  {
    method: "get",
    path: "/conversations/{id}/events",
    operationId: "pollConversationEvents",
    role: "conversation",
    summary:
      "Long-poll the conversation's live turn: answers at once with the events newer than `after`, else when something arrives or `waitMs` passes (then `events` is empty). Level 1 unless `Dispatch-Protocol: 2` / `protocol=2`.",
    ext: true,
    query: EventsPollQueryDocSchema,
    queryDocs: {
      after: "`<turnId>:<n>`: the `cursor` of the previous answer (absent: the running turn from its start).",
      waitMs: "How long to wait for something newer, 0 to 30000 ms (default 25000).",
      protocol: "`2` for every event type (level 2); absent or `1`: the original 11.",
    },
    response: LongPollResponseSchema,
    errors: [400, 429],
  },
  {
    method: "get",
    path: "/events",
    operationId: "streamEvents",
    // The channel names the conversation(s): the operations core decides a viewer's right to it.
    role: "anyone",
    summary:
      "Server-sent events of a channel (conversation:<id>, conversation:*, workspace:<id>:*) with `Accept: text/event-stream`: the running turns replayed, then every event live. Resumable with `Last-Event-ID`. Level 1 unless `Dispatch-Protocol: 2` / `protocol=2`.",
    ext: true,
    query: EventsStreamQueryDocSchema,
    queryDocs: {
      channel: "`conversation:<id>`, `conversation:*` or `workspace:<workspaceId>:*`.",
      protocol: "`2` for every event type (level 2); absent or `1`: the original 11.",
    },
    response: "event-stream",
    errors: [400, 406, 429],
  },
  {
    method: "get",
    path: "/mcp/servers",
    operationId: "listMcpServers",
    role: "owner",
    summary: "Every configured MCP server: state, tools offered, restarts and last error.",
    ext: true,
    response: McpServersResponseSchema,
    errors: [],
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    role: "anyone",
    public: true,
    summary: "This OpenAPI 3.1 document.",
    ext: true,
    response: "json-document",
    errors: [],
  },
  {
    method: "get",
    path: "/protocol.json",
    operationId: "getProtocolSchema",
    role: "anyone",
    public: true,
    summary: "JSON Schema of every WebSocket message.",
    ext: true,
    response: "json-document",
    errors: [],
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    role: "owner",
    summary:
      "Prometheus text format: turns, tokens, provider errors, latencies, connections, requests, store, process.",
    ext: true,
    public: true,
    response: "prometheus-text",
    errors: [404],
  },
];
