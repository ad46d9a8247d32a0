/** The daemon-wide routes: health, metrics, the models and MCP server lists, the API documents. */
import { PROMETHEUS_CONTENT_TYPE } from "@dispatch/metrics/contract";
import type { ApiDeps } from "./api-deps";
import { errorResponse } from "./errors";
import type { RunOperation } from "./operations";
import { handle, json, type RouteTable } from "./request";

/** Pure: the base URL a client reached us at, from the Host header the policy already accepted. */
export function requestBaseUrl(req: Request): string {
  const host = req.headers.get("host");
  return host ? `http://${host}` : new URL(req.url).origin;
}

const jsonText = (text: string) => new Response(text, { headers: { "Content-Type": "application/json" } });

export function systemRoutes(deps: ApiDeps, op: RunOperation): RouteTable {
  return {
    "/health": {
      GET: handle(async (req) => json(await op({ type: "read", read: { read: "health" } }, req))),
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
      GET: handle(async (req) => json(await op({ type: "read", read: { read: "models.list" } }, req))),
    },
    "/mcp/servers": {
      GET: handle(async (req) => json(await op({ type: "read", read: { read: "mcp.servers" } }, req))),
    },
    "/openapi.json": { GET: (req) => jsonText(deps.openApiJson(requestBaseUrl(req))) },
    "/protocol.json": { GET: () => jsonText(deps.protocolJson()) },
  };
}
