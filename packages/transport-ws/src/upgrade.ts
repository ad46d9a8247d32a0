/**
 * The HTTP → WebSocket upgrade (Bun's `fetch` handler of the WS port): asks the connection policy,
 * answers a refusal as JSON, or upgrades with the connection's initial state. It decides nothing
 * itself: admission is `checkUpgrade` (pure, table-tested).
 */

import {
  type ConnectionPolicy,
  checkUpgrade,
  createConnectionPolicy,
  isLoopbackPeer,
} from "@dispatch/connection-policy";
import type { Logger } from "@dispatch/kernel";
import { OWNER, type Role } from "@dispatch/operations";
import { DEFAULT_PROTOCOL_LEVEL } from "@dispatch/protocol";
import type { Shares } from "@dispatch/shares/contract";
import type { Server } from "bun";
import { ownHttpOrigins, type WsConfig } from "./config";
import type { BrowserAccess } from "./contract";
import { type ConnData, errorText } from "./fanout";
import { initialRateState } from "./rate-limit";

export interface UpgradeDeps {
  config: WsConfig;
  token: string;
  access: BrowserAccess;
  /** Admits share viewers; absent = no connection is a viewer. */
  shares?: Pick<Shares, "check">;
  logger: Logger;
  now(): number;
}

/**
 * The policy for the current HTTP port: rebuilt once that port is known, so pages it serves are then
 * allowed origins whatever the ports.
 */
export function policyCache(deps: Pick<UpgradeDeps, "config" | "token" | "access">): () => ConnectionPolicy {
  const { config, access } = deps;
  let policy: ConnectionPolicy | undefined;
  let policyHttpPort: number | undefined;
  return () => {
    const httpPort = access.httpPort ?? config.httpPort;
    if (policy === undefined || httpPort !== policyHttpPort) {
      policyHttpPort = httpPort;
      policy = createConnectionPolicy({
        bindHost: config.host,
        token: deps.token,
        allowedOrigins: config.allowedOrigins,
        httpOrigins: ownHttpOrigins(config),
        allowedHosts: config.allowedHosts,
        requireTokenForBrowsers: config.requireTokenForBrowsers,
        trustLocalBrowsers: config.trustLocalBrowsers,
        ...(httpPort === undefined ? {} : { httpPort }),
      });
    }
    return policy;
  };
}

/** The fresh state of an admitted connection (`ws.data`). */
export function initialConnData(
  id: number,
  authenticated: boolean,
  config: WsConfig,
  now: number,
  role: Role = OWNER,
): ConnData {
  return {
    id,
    role,
    authenticated,
    connected: true,
    open: false,
    rate: initialRateState(config.rateLimit, now),
    level: DEFAULT_PROTOCOL_LEVEL,
    greeted: false,
    spoken: false,
    surfaces: new Set(),
    channels: new Set(),
  };
}

/** Pure: whether a client at `address` gets permessage-deflate under `mode` (see WsConfig.compression). */
export function deflateFor(mode: WsConfig["compression"], address: string | undefined): boolean {
  return mode === "all" || (mode === "remote" && !isLoopbackPeer(address));
}

/** Bun's `fetch` for the WS port. An exception answers 500 and is logged, never thrown into Bun. */
export function upgradeHandler(deps: UpgradeDeps) {
  const { config, access, logger } = deps;
  const currentPolicy = policyCache(deps);
  let nextId = 1;
  return (req: Request, srv: Server<ConnData>): Response | undefined => {
    try {
      const decision = checkUpgrade(currentPolicy(), req.method, req.headers, {
        session: () => access.sessions.check(req.headers.get("cookie")),
        peerIsOwner: () => access.peerOwner(srv.requestIP(req), srv.port ?? config.port, config.host),
        share: () => deps.shares?.check(req, srv.requestIP(req)?.address),
      });
      if (!decision.ok) {
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (decision.status === 426) headers.Upgrade = "websocket";
        if (decision.retryAfterSec !== undefined) headers["Retry-After"] = String(decision.retryAfterSec);
        return new Response(JSON.stringify({ error: decision.message, code: decision.code }), {
          status: decision.status,
          headers,
        });
      }
      // Hiding a client's deflate offer is how Bun is told not to negotiate it for this connection.
      if (!deflateFor(config.compression, srv.requestIP(req)?.address))
        req.headers.delete("sec-websocket-extensions");
      const role: Role = decision.share === undefined ? OWNER : { kind: "viewer", ...decision.share };
      const data = initialConnData(nextId++, decision.authenticated, config, deps.now(), role);
      const headers =
        decision.subprotocol === undefined ? undefined : { "Sec-WebSocket-Protocol": decision.subprotocol };
      if (srv.upgrade(req, headers === undefined ? { data } : { data, headers })) return undefined;
      return new Response(JSON.stringify({ error: "WebSocket upgrade failed" }), { status: 400 });
    } catch (err) {
      logger.error("ws upgrade failed", { code: "WS_INTERNAL_ERROR", error: errorText(err) });
      return new Response(JSON.stringify({ error: "internal server error" }), { status: 500 });
    }
  };
}
