/**
 * The Bun.serve adapter: listens, builds the connection policy once the port is known, and hands every
 * request to the guarded route table (guard.ts). Decisions live in the modules it wires together.
 */
import {
  type BrowserFacts,
  type ConnectionPolicy,
  createConnectionPolicy,
} from "@dispatch/connection-policy";
import { type BrowserAccess, browserAccess } from "@dispatch/connection-policy/io";
import type { Logger } from "@dispatch/kernel";
import type { MetricsRegistry } from "@dispatch/metrics/contract";
import type { Shares } from "@dispatch/shares/contract";
import type { BunRequest, Server } from "bun";
import { errorResponse, internalFailure } from "./errors";
import { guardRoutes, nextRequestId } from "./guard";
import { type PairingDeps, pairingHost } from "./pairing";
import type { RouteTable } from "./request";
import { requestRecorder } from "./request-log";
import type { HttpMethod } from "./route-match";
import { specialRoutes } from "./special-routes";
import type { MethodTable } from "./unrouted";
import { ownOrigins } from "./urls";

export { ownOrigins, rawPathname } from "./urls";

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
  /** The WebSocket port the share viewer page connects to (absent: the page's own origin). */
  wsPort?: () => number | undefined;
  /** Admits share viewers (a share secret on the request); absent = no request is a viewer. */
  shares?: Pick<Shares, "check">;
}

export interface RunningHttpServer {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  /** Stops listening; with `force`, also cuts open connections (streams included). Idempotent. */
  stop(force: boolean): Promise<void>;
}

/** Starts the HTTP port; every request (routed or not) passes admission before its handler. */
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
    share: () => opts.shares?.check(req, server.requestIP(req)?.address),
  });
  const table: MethodTable = {};
  for (const [path, methods] of Object.entries(opts.routes))
    table[path] = Object.keys(methods) as HttpMethod[];
  const currentPolicy = () => policy as ConnectionPolicy;
  const special = specialRoutes({
    policy: currentPolicy,
    facts,
    pairing,
    webRoot: opts.webRoot,
    table,
    ...(opts.wsPort === undefined ? {} : { wsPort: opts.wsPort }),
  });
  const { routes, fallback } = guardRoutes(opts.routes, {
    policy: currentPolicy,
    facts,
    special,
    table,
    logger: opts.logger,
    record: requestRecorder(opts.logger, opts.metrics),
  });

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
        const requestId = nextRequestId();
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
