/** `POST /chat`: starts a turn through the operations core and streams its events as NDJSON. */
import { ChatRequestBodySchema } from "@dispatch/protocol";
import type { StartedTurn } from "@dispatch/session-orchestrator/contract";
import type { ApiDeps } from "./api-deps";
import { turnEventStream } from "./ndjson";
import type { RunOperation } from "./operations";
import { handle, jsonBody, type RouteTable, streamLevel } from "./request";

/** Bytes an NDJSON client may fall behind before its stream is cut. */
const MAX_STREAM_BUFFER = 16 * 1024 * 1024;

export function chatRoute(deps: ApiDeps, op: RunOperation): RouteTable {
  return {
    "/chat": {
      POST: handle(async (req, server) => {
        const level = streamLevel(req);
        const b = await jsonBody(req, deps.maxBodyBytes, ChatRequestBodySchema, "POST /chat");
        const started = (await op({ type: "chat.send", ...b }, req, level)) as StartedTurn;
        // A slow first token must not be cut by Bun's idle timeout: this response may stay quiet.
        server.timeout(req, 0);
        const { conversationId, turnId } = started;
        const { stream, dispose } = turnEventStream(deps.orchestrator, conversationId, turnId, {
          maxBufferedBytes: MAX_STREAM_BUFFER,
          level,
          onSlowConsumer: () =>
            deps.logger.warn("NDJSON client fell behind; stream cut (the turn goes on)", {
              conversationId,
              turnId,
            }),
        });
        req.signal.addEventListener("abort", dispose, { once: true });
        return new Response(stream, {
          headers: {
            "Content-Type": "application/x-ndjson; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Conversation-Id": conversationId,
            "X-Turn-Id": turnId,
            "X-Content-Type-Options": "nosniff",
          },
        });
      }),
    },
  };
}
