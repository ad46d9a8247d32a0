import {
  type BrowserFacts,
  type ConnectionPolicy,
  checkHostAndOrigin,
  corsHeaders,
  createConnectionPolicy,
  isLoopbackPeer,
} from "@dispatch/connection-policy";
import type { Logger } from "@dispatch/kernel";
import { LATENCY_BUCKETS, type MetricsRegistry } from "@dispatch/metrics/contract";
import { browserAccess } from "@dispatch/transport-ws";
import type { BrowserAccess } from "@dispatch/transport-ws/contract";
import type { BunRequest, Server } from "bun";
import { admit, markTokenHolder, PREFLIGHT_MAX_AGE, PUBLIC_ROUTES } from "./admission";
import type { RouteHandler, RouteTable } from "./api";
import { errorResponse, internalFailure } from "./errors";
import {
  createPairing,
  listPairings,
  type PairingDeps,
  pairingHost,
  redeemPairing,
  revokePairing,
} from "./pairing";
import { allowedMethods, type HttpMethod } from "./route-match";
import { serveStatic } from "./static";

export interface HttpServerOptions {
  host: string;
  port: number;
  token: string;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
  requireTokenForBrowsers: boolean;
  /** Skip the peer-owner check for loopback browsers (documented risk). */
  trustLocalBrowsers?: boolean;
  /** A real folder (see `resolveWebRoot`) served as a single-page app after the API routes. */
  webRoot?: string;
  /** Sessions and the peer-owner lookup shared with the WS port (default: a private one). */
  access?: BrowserAccess;
  maxBodyBytes: number;
  idleTimeoutSec: number;
  routes: RouteTable;
  logger: Logger;
  /** Records `dispatch_http_requests_total` and durations; absent = nothing recorded. */
  metrics?: MetricsRegistry;
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

/** Pure: the path of a request URL as sent (before any decoding), without the query. */
export function rawPathname(url: string): string {
  const afterScheme = url.indexOf("//");
  const start = url.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2);
  if (start === -1) return "/";
  const end = url.search(/[?#]/);
  return end === -1 || end < start ? url.slice(start) : url.slice(start, end);
}

function withCors(res: Response, origin: string | undefined): Response {
  if (origin === undefined) return res;
  for (const [k, v] of Object.entries(corsHeaders(origin))) res.headers.set(k, v);
  res.headers.append("Access-Control-Expose-Headers", "X-Conversation-Id, X-Turn-Id");
  return res;
}

let requestCounter = 0;

/**
 * Per request: a debug line (method, route template, status, duration; never the query or body) and
 * the request counter and duration histogram by route and status (children are cached by the registry).
 */
function requestRecorder(logger: Logger, metrics: MetricsRegistry | undefined) {
  const total = metrics?.counter({
    name: "dispatch_http_requests_total",
    help: "HTTP requests by route template, method and status.",
    labelNames: ["route", "method", "status"],
  });
  const seconds = metrics?.histogram({
    name: "dispatch_http_request_duration_seconds",
    help: "Time to the response headers (a stream's body may go on), by route template.",
    labelNames: ["route"],
    buckets: LATENCY_BUCKETS,
  });
  return (method: string, path: string | undefined, status: number, ms: number): void => {
    const route = path ?? "(unmatched)";
    logger.debug("HTTP request", { method, route, status, durationMs: Math.round(ms * 10) / 10 });
    if (!total || !seconds) return;
    total.labels(route, method, String(status)).inc();
    seconds.labels(route).observe(ms / 1000);
  };
}

/**
 * The thin Bun.serve shell: every request (routed or not) passes `admit` (Host, Origin, token) before
 * its handler; CORS headers echo the allowed origin; an exception becomes a 500 with a request id and is
 * logged, never sent.
 */
export function startHttpServer(opts: HttpServerOptions): RunningHttpServer {
  let policy: ConnectionPolicy | undefined;
  const access = opts.access ?? browserAccess();
  let boundPort = 0;
  const pairing: PairingDeps = {
    sessions: access.sessions,
    publicHost: (requestHost) => pairingHost(opts.host, opts.allowedHosts, requestHost),
    port: () => boundPort,
  };
  const facts = (req: Request, server: Server<undefined>): BrowserFacts => ({
    session: () => access.sessions.check(req.headers.get("cookie")),
    peerIsOwner: () => access.peerOwner(server.requestIP(req), boundPort, opts.host),
  });
  /** Routes outside the table: `/pair` and the web root are public; `/pairings` needs the token. */
  async function special(
    req: BunRequest,
    server: Server<undefined>,
    pathname: string,
  ): Promise<Response | undefined> {
    const method = req.method.toUpperCase();
    const pairingsId = /^\/pairings(?:\/([^/]+))?$/.exec(pathname);
    if (pairingsId !== null) {
      const decision = admit(policy as ConnectionPolicy, req.method, req.headers, facts(req, server));
      if (decision.kind === "deny") return withCors(errorResponse(decision.failure), decision.origin);
      if (decision.kind === "preflight") return undefined;
      if (decision.via !== "token") {
        const failure = {
          status: 403,
          code: "POLICY_TOKEN_REQUIRED",
          message: "pairing needs the daemon's token",
        };
        return withCors(errorResponse(failure), decision.origin);
      }
      const id = pairingsId[1];
      if (id === undefined && method === "POST")
        return createPairing(pairing, req, new URL(req.url).hostname);
      if (id === undefined && method === "GET") return listPairings(pairing);
      if (id !== undefined && method === "DELETE") return revokePairing(pairing, decodeURIComponent(id));
      return errorResponse({
        status: 405,
        code: "HTTP_METHOD_NOT_ALLOWED",
        message: `${req.method} is not allowed on ${pathname}; use ${id === undefined ? "GET, POST" : "DELETE"}`,
      });
    }
    const isRead = method === "GET" || method === "HEAD";
    const isPair = pathname === "/pair" && isRead;
    const isStatic = opts.webRoot !== undefined && isRead && allowedMethods(table, pathname) === undefined;
    if (!isPair && !isStatic) return undefined;
    const base = checkHostAndOrigin(policy as ConnectionPolicy, req.headers);
    if (!base.ok) return errorResponse({ status: base.status, code: base.code, message: base.message });
    if (isPair) return redeemPairing(pairing, req);
    const r = serveStatic(opts.webRoot as string, req, rawPathname(req.url));
    return r.ok ? r.response : errorResponse(r.failure);
  }
  const table: Record<string, HttpMethod[]> = {};
  for (const [path, methods] of Object.entries(opts.routes))
    table[path] = Object.keys(methods) as HttpMethod[];

  const record = requestRecorder(opts.logger, opts.metrics);
  const guard =
    (handler: RouteHandler | undefined, path: string | undefined) =>
    async (req: BunRequest, server: Server<undefined>): Promise<Response> => {
      const started = performance.now();
      const res = await admitted(handler, path, req, server);
      record(req.method, path, res.status, performance.now() - started);
      return res;
    };

  const admitted = async (
    handler: RouteHandler | undefined,
    path: string | undefined,
    req: BunRequest,
    server: Server<undefined>,
  ): Promise<Response> => {
    if (handler === undefined) {
      // CONNECT / authority-form targets and other unparsable URLs are the client's error, not a 500.
      if (req.method.toUpperCase() === "CONNECT" || !URL.canParse(req.url)) {
        return errorResponse({
          status: 400,
          code: "HTTP_INVALID_PATH",
          message: `cannot serve ${req.method} ${req.url.slice(0, 200)}: expected an origin-form path`,
        });
      }
      const answered = await special(req, server, new URL(req.url).pathname);
      if (answered !== undefined) return answered;
    }
    const tokenOptional =
      path !== undefined && PUBLIC_ROUTES.has(path) && isLoopbackPeer(server.requestIP(req)?.address);
    const decision = admit(policy as ConnectionPolicy, req.method, req.headers, facts(req, server), {
      tokenOptional,
    });
    if (decision.kind === "deny") return withCors(errorResponse(decision.failure), decision.origin);
    if (decision.kind === "proceed" && decision.via === "token") markTokenHolder(req);
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
  boundPort = port;
  access.setHttpPort(port);
  policy = createConnectionPolicy({
    bindHost: opts.host,
    token: opts.token,
    allowedOrigins: opts.allowedOrigins,
    allowedHosts: opts.allowedHosts,
    httpOrigins: ownOrigins(opts.host, port),
    requireTokenForBrowsers: opts.requireTokenForBrowsers,
    trustLocalBrowsers: opts.trustLocalBrowsers === true,
    httpPort: port,
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
