/**
 * The `/conversations` routes: each parses path, query and body into a command, runs it through the
 * operations core and renders its value. Conversation-scoped operations first ask the core whether the
 * conversation exists (404 HTTP_UNKNOWN_CONVERSATION otherwise), as they always did.
 */
import {
  CompactRequestSchema,
  PermissionAnswerBodySchema,
  parseConversationListQuery,
  parseConversationWindowQuery,
  QueueRequestSchema,
} from "@dispatch/protocol";
import type {
  CloseResponse,
  OpenResponse,
  PermissionAnswerResponse,
  QueueCancelResponse,
  QueueResponse,
  StopResponse,
} from "@dispatch/protocol/types";
import type { CancelQueuedResult, EnqueueResult, StopResult } from "@dispatch/session-orchestrator/contract";
import type { BunRequest } from "bun";
import type { ApiDeps } from "./api-deps";
import type { RunOperation } from "./operations";
import { handle, json, jsonBody, need, param, type RouteTable } from "./request";

/** The `:id` of a conversation the core knows (a 404 failure otherwise). */
export async function existing(op: RunOperation, req: BunRequest): Promise<string> {
  const conversationId = param(req, "id");
  await op({ type: "read", read: { read: "conversation.exists", conversationId } }, req);
  return conversationId;
}

const query = (req: Request) => new URL(req.url).searchParams;

export function conversationRoutes(deps: ApiDeps, op: RunOperation): RouteTable {
  const body = deps.maxBodyBytes;
  return {
    "/conversations": {
      GET: handle(async (req) => {
        const q = need(parseConversationListQuery(query(req)));
        return json(await op({ type: "read", read: { read: "conversation.list", query: q } }, req));
      }),
    },
    "/conversations/:id": {
      GET: handle(async (req) => {
        const conversationId = param(req, "id");
        const q = need(parseConversationWindowQuery(query(req)));
        return json(
          await op({ type: "read", read: { read: "conversation.window", conversationId, query: q } }, req),
        );
      }),
    },
    "/conversations/:id/status": {
      GET: handle(async (req) => {
        const conversationId = param(req, "id");
        return json(await op({ type: "read", read: { read: "conversation.status", conversationId } }, req));
      }),
    },
    "/conversations/:id/open": {
      POST: handle(async (req) => {
        const conversationId = await existing(op, req);
        const opened = (await op({ type: "conversation.open", conversationId }, req)) as OpenResponse;
        return json({ conversationId: opened.conversationId } satisfies OpenResponse);
      }),
    },
    "/conversations/:id/stop": {
      POST: handle(async (req) => {
        const conversationId = await existing(op, req);
        const r = (await op({ type: "chat.stop", conversationId }, req)) as StopResult;
        return json({ conversationId, abortedTurn: r.abortedTurn } satisfies StopResponse);
      }),
    },
    "/conversations/:id/close": {
      POST: handle(async (req, server) => {
        const conversationId = await existing(op, req);
        // Waits until the running turn is sealed.
        server.timeout(req, 0);
        const r = (await op({ type: "conversation.close", conversationId }, req)) as StopResult;
        return json({ conversationId, abortedTurn: r.abortedTurn } satisfies CloseResponse);
      }),
    },
    "/conversations/:id/queue": {
      POST: handle(async (req) => {
        const conversationId = await existing(op, req);
        const b = await jsonBody(req, body, QueueRequestSchema, "POST /conversations/:id/queue");
        const command = { type: "chat.queue" as const, conversationId, text: b.text };
        const r = (await op(
          b.workspaceId === undefined ? command : { ...command, workspaceId: b.workspaceId },
          req,
        )) as EnqueueResult;
        return json({ conversationId, startedTurn: r.startedTurn, queue: r.queue } satisfies QueueResponse);
      }),
    },
    "/conversations/:id/queue/:messageId": {
      DELETE: handle(async (req) => {
        const conversationId = await existing(op, req);
        const messageId = param(req, "messageId");
        const r = (await op(
          { type: "chat.queue.cancel", conversationId, messageId },
          req,
        )) as CancelQueuedResult;
        return json({ conversationId, cancelled: r.cancelled, queue: r.queue } satisfies QueueCancelResponse);
      }),
    },
    "/conversations/:id/compact": {
      POST: handle(async (req, server) => {
        const conversationId = await existing(op, req);
        // Summarizing is a model call: it may take longer than the idle timeout.
        server.timeout(req, 0);
        const b = await jsonBody(req, body, CompactRequestSchema, "POST /conversations/:id/compact", true);
        const command = { type: "conversation.compact" as const, conversationId };
        return json(
          await op(b.keepLastN === undefined ? command : { ...command, keepLastN: b.keepLastN }, req),
        );
      }),
    },
    "/conversations/:id/permissions/:requestId": {
      POST: handle(async (req) => {
        const conversationId = await existing(op, req);
        const requestId = param(req, "requestId");
        const label = "POST /conversations/:id/permissions/:requestId";
        const b = await jsonBody(req, body, PermissionAnswerBodySchema, label);
        const command = { type: "chat.permission" as const, conversationId, requestId, decision: b.decision };
        await op(b.reason === undefined ? command : { ...command, reason: b.reason }, req);
        return json({ conversationId, requestId, decision: b.decision } satisfies PermissionAnswerResponse);
      }),
    },
  };
}
