/**
 * Wraps every handler (and the fallback for unmatched requests) in admission: `admit` (Host, Origin,
 * token) runs before any handler; CORS headers echo the allowed origin; an exception becomes a 500 with
 * a request id and is logged, never sent. Unrouted answers are decided in unrouted.ts.
 */
import { type BrowserFacts, type ConnectionPolicy, isLoopbackPeer } from "@dispatch/connection-policy";
import type { Logger } from "@dispatch/kernel";
import type { BunRequest, Server } from "bun";
import { admit, markTokenHolder, PREFLIGHT_MAX_AGE, PUBLIC_ROUTES } from "./admission";
import { errorResponse, failureFrom, internalFailure } from "./errors";
import { requestRole, setRequestRole } from "./operations";
import type { RouteHandler, RouteTable } from "./request";
import type { RecordRequest } from "./request-log";
import type { HttpMethod } from "./route-match";
import { authorizeRoute } from "./route-roles";
import type { SpecialRoutes } from "./special-routes";
import { badTarget, type MethodTable, noHandler, preflight, type Unrouted } from "./unrouted";
import { withCors } from "./urls";

export interface GuardDeps {
  policy(): ConnectionPolicy;
  facts(req: Request, server: Server<undefined>): BrowserFacts;
  special: SpecialRoutes;
  table: MethodTable;
  logger: Logger;
  record: RecordRequest;
}

let requestCounter = 0;

/** A fresh request id for a logged internal error. */
export function nextRequestId(): string {
  return `req-${++requestCounter}`;
}

function render(u: Unrouted, origin: string | undefined): Response {
  if (u.kind === "failure") return withCors(errorResponse(u.failure, u.headers), origin);
  const headers = { Allow: u.allow, "Access-Control-Max-Age": PREFLIGHT_MAX_AGE };
  return withCors(new Response(null, { status: 204, headers }), origin);
}

/** The guarded route table and the fallback for requests no route matched. */
export function guardRoutes(
  routes: RouteTable,
  d: GuardDeps,
): { routes: RouteTable; fallback: RouteHandler } {
  const admitted = async (
    handler: RouteHandler | undefined,
    path: string | undefined,
    req: BunRequest,
    server: Server<undefined>,
  ): Promise<Response> => {
    if (handler === undefined) {
      const bad = badTarget(req.method, req.url, URL.canParse(req.url));
      if (bad !== undefined) return errorResponse(bad);
      const answered = await d.special(req, server, new URL(req.url).pathname);
      if (answered !== undefined) return answered;
    }
    const tokenOptional =
      path !== undefined && PUBLIC_ROUTES.has(path) && isLoopbackPeer(server.requestIP(req)?.address);
    const decision = admit(d.policy(), req.method, req.headers, d.facts(req, server), { tokenOptional });
    if (decision.kind === "deny") return withCors(errorResponse(decision.failure), decision.origin);
    if (decision.kind === "proceed" && decision.via === "token") markTokenHolder(req);
    if (decision.kind === "proceed" && decision.share !== undefined)
      setRequestRole(req, { kind: "viewer", ...decision.share });
    const pathname = path ?? new URL(req.url).pathname;
    if (decision.kind === "preflight" || (handler === undefined && req.method === "OPTIONS"))
      return render(preflight(d.table, pathname), decision.origin);
    if (handler === undefined) return render(noHandler(d.table, req.method, pathname), decision.origin);
    const id = (req.params as Record<string, string | undefined>).id;
    const refused = authorizeRoute(requestRole(req), req.method, path as string, id);
    if (refused !== undefined) return withCors(errorResponse(failureFrom(refused)), decision.origin);
    try {
      return withCors(await handler(req, server), decision.origin);
    } catch (e) {
      const requestId = nextRequestId();
      d.logger.error("HTTP handler failed", { requestId, method: req.method, path: pathname, err: e });
      return withCors(errorResponse(internalFailure(requestId)), decision.origin);
    }
  };
  const guard =
    (handler: RouteHandler | undefined, path: string | undefined): RouteHandler =>
    async (req, server) => {
      const started = performance.now();
      const res = await admitted(handler, path, req, server);
      d.record(req.method, path, res.status, performance.now() - started);
      return res;
    };
  const guarded: RouteTable = {};
  for (const [path, methods] of Object.entries(routes)) {
    const g: Partial<Record<HttpMethod, RouteHandler>> = {};
    for (const [m, h] of Object.entries(methods) as [HttpMethod, RouteHandler][]) g[m] = guard(h, path);
    guarded[path] = g;
  }
  return { routes: guarded, fallback: guard(undefined, undefined) };
}
