import type { ConversationCatalog, ConversationLog } from "@dispatch/conversation-store/contract";
import type { Logger } from "@dispatch/kernel";
import { PROMETHEUS_CONTENT_TYPE } from "@dispatch/metrics/contract";
import {
  ChatRequestBodySchema,
  CompactRequestSchema,
  CwdSettingBodySchema,
  ModelSettingBodySchema,
  type ParseResult,
  PathIdSchema,
  PermissionAnswerBodySchema,
  PROTOCOL_LEVEL_HEADER,
  PROTOCOL_LEVEL_QUERY,
  type ProtocolLevel,
  parseConversationListQuery,
  parseConversationWindowQuery,
  parseJsonBody,
  QueueRequestSchema,
  ReasoningEffortSettingBodySchema,
  requestedHttpLevel,
  TitleSettingBodySchema,
} from "@dispatch/protocol";
import type {
  CloseResponse,
  ConversationListResponse,
  ConversationWindowResponse,
  CwdSettingResponse,
  HealthResponse,
  McpServerStatus,
  McpServersResponse,
  ModelInfo,
  ModelSettingResponse,
  ModelsResponse,
  OpenResponse,
  PermissionAnswerResponse,
  PermissionDecision,
  QueueCancelResponse,
  QueueResponse,
  ReasoningEffortSettingResponse,
  StopResponse,
  TitleSettingResponse,
} from "@dispatch/protocol/types";
import { answerPermission } from "@dispatch/session-orchestrator";
import type {
  CancelQueuedResult,
  ConversationSettings,
  ConversationSettingsService,
  EnqueueResult,
  Orchestrator,
  SettingsPatch,
  StartedTurn,
  StopResult,
} from "@dispatch/session-orchestrator/contract";
import type { PermissionGate } from "@dispatch/tools/contract";
import type { BunRequest, Server } from "bun";
import type { z } from "zod";
import { readBodyText } from "./body";
import { errorResponse, failureFrom, type HttpFailure } from "./errors";
import { turnEventStream } from "./ndjson";
import { type CommandOutcome, httpCaller, runCommand } from "./operations";
import type { HttpMethod } from "./route-match";

/** What the API reads and drives. */
export interface ApiDeps {
  orchestrator: Orchestrator;
  settings: ConversationSettingsService;
  /** Answers permission requests; absent: every answer is ORCH_UNKNOWN_PERMISSION_REQUEST. */
  gate?: Pick<PermissionGate, "resolve">;
  conversations: Pick<ConversationCatalog, "listConversations">;
  log: Pick<ConversationLog, "readWindow">;
  /** `GET /mcp/servers`: every configured MCP server ([] when the mcp extension is not running). */
  mcpServers(): McpServerStatus[];
  /** Model names and info for `GET /models`; absent when the providers extension is not running. */
  models(): { name: string; info: ModelInfo }[];
  /** The model a turn without one uses (`GET /models` → `defaultModel`); absent without providers. */
  defaultModel?(): string | undefined;
  version: string;
  maxBodyBytes: number;
  logger: Logger;
  /** `GET /openapi.json` for a base URL (its `servers` entry), `GET /protocol.json`. */
  openApiJson(baseUrl: string): string;
  protocolJson(): string;
  /** `GET /health`'s live fields. */
  health(): Pick<HealthResponse, "uptimeSec" | "activeTurns" | "store">;
  /** `GET /metrics` in the Prometheus text format; absent = 404 (no metrics extension). */
  metricsText?(): string;
}

/** Pure: the base URL a client reached us at, from the Host header the policy already accepted. */
function requestBaseUrl(req: Request): string {
  const host = req.headers.get("host");
  return host ? `http://${host}` : new URL(req.url).origin;
}

export type RouteHandler = (req: BunRequest, server: Server<undefined>) => Response | Promise<Response>;
export type RouteTable = Record<string, Partial<Record<HttpMethod, RouteHandler>>>;

/** Bytes an NDJSON client may fall behind before its stream is cut. */
const MAX_STREAM_BUFFER = 16 * 1024 * 1024;

class Failure {
  constructor(readonly failure: HttpFailure) {}
}
/**
 * Unwraps a parse or service result; a failure aborts the handler and becomes the response (see
 * `handle`) with the status its code implies.
 */
function need<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Failure(failureFrom(r.error));
  return r.value;
}

/** Unwraps what the operations core made of a command; a failure aborts the handler (see `handle`). */
function outcome<T>(o: CommandOutcome): T {
  if (!o.ok) throw new Failure(o.failure);
  return o.value as T;
}

/** Runs a handler; an expected failure becomes its JSON error, anything else propagates (→ 500). */
function handle(
  fn: (req: BunRequest, server: Server<undefined>) => Response | Promise<Response>,
): RouteHandler {
  return async (req, server) => {
    try {
      return await fn(req, server);
    } catch (e) {
      if (e instanceof Failure) return errorResponse(e.failure);
      throw e;
    }
  };
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

/** A path parameter, bounded like every protocol id. */
function param(req: BunRequest, name: string): string {
  const raw = (req.params as Record<string, string | undefined>)[name];
  const r = PathIdSchema.safeParse(raw);
  if (r.success) return r.data;
  throw new Failure({
    status: 400,
    code: "HTTP_INVALID_PATH",
    message: `path :${name}: ${r.error.issues[0]?.message}`,
  });
}

/** The protocol level a stream asks for (`Dispatch-Protocol` header or `?protocol=`); 400 when unsupported. */
function streamLevel(req: BunRequest): ProtocolLevel {
  const asked = requestedHttpLevel(
    req.headers.get(PROTOCOL_LEVEL_HEADER),
    new URL(req.url).searchParams.get(PROTOCOL_LEVEL_QUERY),
  );
  if (asked.ok) return asked.level;
  throw new Failure({ status: 400, code: "HTTP_UNSUPPORTED_PROTOCOL", message: asked.message });
}

/** Builds the route table of PROTOCOL.md §6 (Bun `routes` shape, handlers not yet guarded). */
export function apiRoutes(deps: ApiDeps): RouteTable {
  const { orchestrator, conversations, log } = deps;
  /** Client operations go through the operations core, like every transport's. */
  const services = {
    orchestrator,
    permissions: {
      answer: (cid: string, requestId: string, decision: PermissionDecision, reason?: string) =>
        answerPermission(deps.gate, cid, requestId, decision, reason),
    },
  };

  /** The validated JSON body; `optional` bodies (all fields optional) may be empty. */
  const body = async <S extends z.ZodType>(req: BunRequest, schema: S, label: string, optional = false) => {
    const read = await readBodyText(req, deps.maxBodyBytes);
    if (!read.ok) throw new Failure(read.failure);
    const text = optional && read.text.trim() === "" ? "{}" : read.text;
    const parsed: ParseResult<z.output<S>> = parseJsonBody(schema, text, label);
    return need(parsed);
  };

  /** The `:id` of a conversation that exists (404 otherwise). */
  const conversation = (req: BunRequest): string => {
    const id = param(req, "id");
    if (orchestrator.status(id) === undefined) {
      throw new Failure({
        status: 404,
        code: "HTTP_UNKNOWN_CONVERSATION",
        message: `unknown conversation "${id}"`,
      });
    }
    return id;
  };
  const settings = (id: string): ConversationSettings => {
    const s = deps.settings.getSettings(id);
    if (!s)
      throw new Failure({
        status: 404,
        code: "HTTP_UNKNOWN_CONVERSATION",
        message: `unknown conversation "${id}"`,
      });
    return s;
  };
  /** GET answers the setting; PUT validates the body, updates, then answers the new value. */
  const setting = <S extends z.ZodType>(
    name: string,
    schema: S,
    patch: (value: z.output<S>) => SettingsPatch,
    view: (s: ConversationSettings) => object,
  ): Partial<Record<HttpMethod, RouteHandler>> => ({
    GET: handle((req) => {
      const id = conversation(req);
      return json({ conversationId: id, ...view(settings(id)) });
    }),
    PUT: handle(async (req) => {
      const id = conversation(req);
      const value = await body(req, schema, `PUT /conversations/:id/${name}`);
      const updated = need(deps.settings.updateSettings(id, patch(value)));
      return json({ conversationId: id, ...view(updated) });
    }),
  });

  return {
    "/health": {
      GET: () => json({ ok: true, version: deps.version, ...deps.health() } satisfies HealthResponse),
    },
    "/metrics": {
      GET: () => {
        if (!deps.metricsText) {
          return errorResponse({ status: 404, code: "HTTP_NOT_FOUND", message: "metrics are not enabled" });
        }
        return new Response(deps.metricsText(), { headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE } });
      },
    },
    "/models": {
      GET: () => {
        const list = deps.models();
        const res: ModelsResponse = { models: list.map((m) => m.name) };
        if (list.length > 0) res.modelInfo = Object.fromEntries(list.map((m) => [m.name, m.info]));
        const fallback = deps.defaultModel?.();
        if (fallback) res.defaultModel = fallback;
        return json(res);
      },
    },
    "/mcp/servers": {
      GET: () => json({ servers: deps.mcpServers() } satisfies McpServersResponse),
    },
    "/openapi.json": {
      GET: (req) =>
        new Response(deps.openApiJson(requestBaseUrl(req)), {
          headers: { "Content-Type": "application/json" },
        }),
    },
    "/protocol.json": {
      GET: () => new Response(deps.protocolJson(), { headers: { "Content-Type": "application/json" } }),
    },
    "/chat": {
      POST: handle(async (req, server) => {
        const level = streamLevel(req);
        const b = await body(req, ChatRequestBodySchema, "POST /chat");
        const started = outcome<StartedTurn>(
          await runCommand(services, { type: "chat.send", ...b }, httpCaller(req, level)),
        );
        // A slow first token must not be cut by Bun's idle timeout: this response may stay quiet.
        server.timeout(req, 0);
        const { stream, dispose } = turnEventStream(orchestrator, started.conversationId, started.turnId, {
          maxBufferedBytes: MAX_STREAM_BUFFER,
          level,
          onSlowConsumer: () =>
            deps.logger.warn("NDJSON client fell behind; stream cut (the turn goes on)", {
              conversationId: started.conversationId,
              turnId: started.turnId,
            }),
        });
        req.signal.addEventListener("abort", dispose, { once: true });
        return new Response(stream, {
          headers: {
            "Content-Type": "application/x-ndjson; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Conversation-Id": started.conversationId,
            "X-Turn-Id": started.turnId,
            "X-Content-Type-Options": "nosniff",
          },
        });
      }),
    },
    "/conversations": {
      GET: handle((req) => {
        const params = new URL(req.url).searchParams;
        const q = need(parseConversationListQuery(params));
        const page = need(conversations.listConversations(q));
        const res: ConversationListResponse = { conversations: page.conversations };
        if (page.nextCursor !== undefined) res.nextCursor = page.nextCursor;
        return json(res);
      }),
    },
    "/conversations/:id": {
      GET: handle((req) => {
        const id = param(req, "id");
        const params = new URL(req.url).searchParams;
        const q = need(parseConversationWindowQuery(params));
        const read = log.readWindow(id, q);
        // A well-formed id with no chunks — one a client has just minted, or one that never existed —
        // is an empty conversation (compat: the frontend syncs right after its first chat.send).
        if (!read.ok && read.error.code === "STORE_UNKNOWN_CONVERSATION") {
          return json({ chunks: [], latestSeq: q.sinceSeq ?? 0 } satisfies ConversationWindowResponse);
        }
        const window = need(read);
        const res: ConversationWindowResponse = { chunks: window.chunks, latestSeq: window.latestSeq };
        if (window.more) res.more = window.more;
        return json(res);
      }),
    },
    "/conversations/:id/status": {
      GET: handle((req) => {
        const id = param(req, "id");
        const status = orchestrator.status(id);
        if (!status)
          throw new Failure({
            status: 404,
            code: "HTTP_UNKNOWN_CONVERSATION",
            message: `unknown conversation "${id}"`,
          });
        return json(status);
      }),
    },
    "/conversations/:id/open": {
      POST: handle(async (req) => {
        const id = conversation(req);
        const opened = outcome<OpenResponse>(
          await runCommand(services, { type: "conversation.open", conversationId: id }, httpCaller(req)),
        );
        return json({ conversationId: opened.conversationId } satisfies OpenResponse);
      }),
    },
    "/conversations/:id/stop": {
      POST: handle(async (req) => {
        const id = conversation(req);
        const r = outcome<StopResult>(
          await runCommand(services, { type: "chat.stop", conversationId: id }, httpCaller(req)),
        );
        return json({ conversationId: id, abortedTurn: r.abortedTurn } satisfies StopResponse);
      }),
    },
    "/conversations/:id/close": {
      POST: handle(async (req, server) => {
        const id = conversation(req);
        // Waits until the running turn is sealed.
        server.timeout(req, 0);
        const r = outcome<StopResult>(
          await runCommand(services, { type: "conversation.close", conversationId: id }, httpCaller(req)),
        );
        return json({ conversationId: id, abortedTurn: r.abortedTurn } satisfies CloseResponse);
      }),
    },
    "/conversations/:id/queue": {
      POST: handle(async (req) => {
        const id = conversation(req);
        const b = await body(req, QueueRequestSchema, "POST /conversations/:id/queue");
        const command = { type: "chat.queue" as const, conversationId: id, text: b.text };
        const r = outcome<EnqueueResult>(
          await runCommand(
            services,
            b.workspaceId === undefined ? command : { ...command, workspaceId: b.workspaceId },
            httpCaller(req),
          ),
        );
        return json({
          conversationId: id,
          startedTurn: r.startedTurn,
          queue: r.queue,
        } satisfies QueueResponse);
      }),
    },
    "/conversations/:id/queue/:messageId": {
      DELETE: handle(async (req) => {
        const id = conversation(req);
        const messageId = param(req, "messageId");
        const r = outcome<CancelQueuedResult>(
          await runCommand(
            services,
            { type: "chat.queue.cancel", conversationId: id, messageId },
            httpCaller(req),
          ),
        );
        return json({
          conversationId: id,
          cancelled: r.cancelled,
          queue: r.queue,
        } satisfies QueueCancelResponse);
      }),
    },
    "/conversations/:id/model": setting(
      "model",
      ModelSettingBodySchema,
      (b) => ({ model: b.model }),
      (s): Omit<ModelSettingResponse, "conversationId"> => (s.model === undefined ? {} : { model: s.model }),
    ),
    "/conversations/:id/title": setting(
      "title",
      TitleSettingBodySchema,
      (b) => ({ title: b.title }),
      (s): Omit<TitleSettingResponse, "conversationId"> => ({ title: s.title }),
    ),
    "/conversations/:id/cwd": setting(
      "cwd",
      CwdSettingBodySchema,
      (b) => ({ cwd: b.cwd }),
      (s): Omit<CwdSettingResponse, "conversationId"> => (s.cwd === undefined ? {} : { cwd: s.cwd }),
    ),
    "/conversations/:id/reasoning-effort": setting(
      "reasoning-effort",
      ReasoningEffortSettingBodySchema,
      (b) => ({ reasoningEffort: b.reasoningEffort }),
      (s): Omit<ReasoningEffortSettingResponse, "conversationId"> =>
        s.reasoningEffort === undefined ? {} : { reasoningEffort: s.reasoningEffort },
    ),
    "/conversations/:id/compact": {
      POST: handle(async (req, server) => {
        const id = conversation(req);
        // Summarizing is a model call: it may take longer than the idle timeout.
        server.timeout(req, 0);
        const b = await body(req, CompactRequestSchema, "POST /conversations/:id/compact", true);
        const command = { type: "conversation.compact" as const, conversationId: id };
        const r = outcome(
          await runCommand(
            services,
            b.keepLastN === undefined ? command : { ...command, keepLastN: b.keepLastN },
            httpCaller(req),
          ),
        );
        return json(r);
      }),
    },
    "/conversations/:id/permissions/:requestId": {
      POST: handle(async (req) => {
        const id = conversation(req);
        const requestId = param(req, "requestId");
        const b = await body(
          req,
          PermissionAnswerBodySchema,
          "POST /conversations/:id/permissions/:requestId",
        );
        const command = {
          type: "chat.permission" as const,
          conversationId: id,
          requestId,
          decision: b.decision,
        };
        outcome(
          await runCommand(
            services,
            b.reason === undefined ? command : { ...command, reason: b.reason },
            httpCaller(req),
          ),
        );
        return json({
          conversationId: id,
          requestId,
          decision: b.decision,
        } satisfies PermissionAnswerResponse);
      }),
    },
  };
}
