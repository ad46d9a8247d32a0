import type { Logger } from "@dispatch/kernel";
import { type ConnectionPolicy, corsHeaders, createConnectionPolicy } from "@dispatch/transport-ws/policy";
import type { BunRequest, Server } from "bun";
import { admit, PREFLIGHT_MAX_AGE } from "./admission";
import type { RouteHandler, RouteTable } from "./api";
import { errorResponse, internalFailure } from "./errors";
import { allowedMethods, type HttpMethod } from "./route-match";

export interface HttpServerOptions {
  host: string;
  port: number;
  token: string;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
  requireTokenForBrowsers: boolean;
  maxBodyBytes: number;
  idleTimeoutSec: number;
  routes: RouteTable;
  logger: Logger;
}

export interface RunningHttpServer {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  /** Stops listening; with `force`, also cuts open connections (streams included). Idempotent. */
  stop(force: boolean): Promise<void>;
}

/** Pure: the origins a browser page served by this daemon's HTTP port would send. */
export function ownOrigins(host: string, port: number): string[] {
  const names = new Set([
    "127.0.0.1",
    "localhost",
    host.includes(":") && !host.startsWith("[") ? `[${host}]` : host,
  ]);
  return [...names].map((n) => `http://${n}:${port}`);
}

function withCors(res: Response, origin: string | undefined): Response {
  if (origin === undefined) return res;
  for (const [k, v] of Object.entries(corsHeaders(origin))) res.headers.set(k, v);
  res.headers.append("Access-Control-Expose-Headers", "X-Conversation-Id, X-Turn-Id");
  return res;
}

let requestCounter = 0;

/**
 * The thin Bun.serve shell: every request (routed or not) passes `admit` (Host, Origin, token) before
 * its handler; CORS headers echo the allowed origin; an exception becomes a 500 with a request id and is
 * logged, never sent.
 */
export function startHttpServer(opts: HttpServerOptions): RunningHttpServer {
  let policy: ConnectionPolicy | undefined;
  const table: Record<string, HttpMethod[]> = {};
  for (const [path, methods] of Object.entries(opts.routes))
    table[path] = Object.keys(methods) as HttpMethod[];

  const guard =
    (handler: RouteHandler | undefined, path: string | undefined) =>
    async (req: BunRequest, server: Server<undefined>): Promise<Response> => {
      const decision = admit(policy as ConnectionPolicy, req.method, req.headers);
      if (decision.kind === "deny") return withCors(errorResponse(decision.failure), decision.origin);
      const pathname = path ?? new URL(req.url).pathname;
      if (decision.kind === "preflight" || (handler === undefined && req.method === "OPTIONS")) {
        const allowed = allowedMethods(table, pathname);
        if (allowed === undefined) {
          return withCors(
            errorResponse({ status: 404, code: "HTTP_NOT_FOUND", message: `no route ${pathname}` }),
            decision.origin,
          );
        }
        const res = new Response(null, {
          status: 204,
          headers: { Allow: [...allowed, "OPTIONS"].join(", "), "Access-Control-Max-Age": PREFLIGHT_MAX_AGE },
        });
        return withCors(res, decision.origin);
      }
      if (handler === undefined) {
        const allowed = allowedMethods(table, pathname);
        const res =
          allowed === undefined
            ? errorResponse({
                status: 404,
                code: "HTTP_NOT_FOUND",
                message: `no route ${req.method} ${pathname}`,
              })
            : errorResponse(
                {
                  status: 405,
                  code: "HTTP_METHOD_NOT_ALLOWED",
                  message: `${req.method} is not allowed on ${pathname}; use ${allowed.join(", ")}`,
                },
                { Allow: [...allowed, "OPTIONS"].join(", ") },
              );
        return withCors(res, decision.origin);
      }
      try {
        return withCors(await handler(req, server), decision.origin);
      } catch (e) {
        const requestId = `req-${++requestCounter}`;
        opts.logger.error("HTTP handler failed", { requestId, method: req.method, path: pathname, err: e });
        return withCors(errorResponse(internalFailure(requestId)), decision.origin);
      }
    };

  const routes: Record<string, Partial<Record<HttpMethod, RouteHandler>>> = {};
  for (const [path, methods] of Object.entries(opts.routes)) {
    const guarded: Partial<Record<HttpMethod, RouteHandler>> = {};
    for (const [m, h] of Object.entries(methods) as [HttpMethod, RouteHandler][]) guarded[m] = guard(h, path);
    routes[path] = guarded;
  }
  const fallback = guard(undefined, undefined);

  const listen = (): Server<undefined> =>
    Bun.serve({
      hostname: opts.host,
      port: opts.port,
      development: false,
      idleTimeout: opts.idleTimeoutSec,
      // Our own cap (413 as JSON) runs first; Bun's is a backstop for absurd bodies.
      maxRequestBodySize: Math.max(opts.maxBodyBytes * 2, opts.maxBodyBytes + 1024 * 1024),
      routes,
      fetch: (req, srv) => fallback(req as BunRequest, srv as Server<undefined>),
      error(e) {
        const requestId = `req-${++requestCounter}`;
        opts.logger.error("HTTP server error", { requestId, err: e });
        return errorResponse(internalFailure(requestId));
      },
    });
  let server: Server<undefined>;
  try {
    server = listen();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `cannot listen on ${opts.host}:${opts.port}: ${why} (choose another port: [http] port in dispatch.toml or DISPATCH_HTTP_PORT; 0 = a free port)`,
    );
  }
  const port = server.port as number;
  policy = createConnectionPolicy({
    bindHost: opts.host,
    token: opts.token,
    allowedOrigins: opts.allowedOrigins,
    allowedHosts: opts.allowedHosts,
    httpOrigins: ownOrigins(opts.host, port),
    requireTokenForBrowsers: opts.requireTokenForBrowsers,
  });
  const urlHost = opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]` : opts.host;
  let stopping: Promise<void> | undefined;
  let forced = false;
  return {
    port,
    host: opts.host,
    url: `http://${urlHost}:${port}`,
    stop(force) {
      if (force && !forced) {
        forced = true;
        stopping = server.stop(true);
      }
      stopping ??= server.stop(false);
      return stopping;
    },
  };
}
