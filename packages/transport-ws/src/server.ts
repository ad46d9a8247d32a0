/**
 * The shell: one Bun.serve, only wiring. Admission is upgrade.ts (over the pure connection policy),
 * each frame is frames.ts (rate limit → parse → the operations core → its effects → replies), who
 * receives what is fanout.ts. No decision lives here; no exception leaves a handler (it is logged with
 * a code and answered with a generic error).
 */

import { browserAccess } from "@dispatch/connection-policy/io";
import type { Logger } from "@dispatch/kernel";
import type { MetricsRegistry } from "@dispatch/metrics/contract";
import type { OperationsView } from "@dispatch/operations";
import type { ServerMessage, SurfaceScope } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator/contract";
import type { Shares } from "@dispatch/shares/contract";
import type { CatalogEntry, SurfaceRegistry } from "@dispatch/surface-registry/contract";
import type { PermissionGate } from "@dispatch/tools/contract";
import type { Server } from "bun";
import type { WsConfig } from "./config";
import { connectionLevel, connectionMetrics } from "./connection-metrics";
import {
  type BrowserAccess,
  CloseCodes,
  type ConnectionClosed,
  type ConnectionInfo,
  type WsTransport,
  WsTransportError,
} from "./contract";
import { type ConnData, errorText, Fanout, type Socket } from "./fanout";
import { type FrameContext, handleFrame, internalError } from "./frames";
import { catalogFrame } from "./replies";
import { upgradeHandler } from "./upgrade";

export interface WsServerDeps {
  config: WsConfig;
  /** The token clients present. */
  token: string;
  registry: SurfaceRegistry;
  orchestrator: Orchestrator;
  /** Answers `chat.permission`; absent: every answer is ORCH_UNKNOWN_PERMISSION_REQUEST. */
  gate?: Pick<PermissionGate, "resolve">;
  logger: Logger;
  /** Mints conversation ids (UUIDs). */
  newConversationId: () => string;
  /** Clock (ms) for the rate limit. */
  now: () => number;
  /** Named in the `hello` reply (default: this package's version). */
  serverVersion?: string;
  /** Sessions and the peer-owner lookup, shared with the HTTP port (default: a private one). */
  access?: BrowserAccess;
  /** Connection metrics are recorded here; absent = not recorded. */
  metrics?: MetricsRegistry;
  /** The workspace of a conversation, for `workspace:<id>:*` channels (absent: they match nothing). */
  workspaceOf?: (conversationId: string) => string | undefined;
  /** Admits share viewers and closes them (4403) when their share ends; absent = no viewers. */
  shares?: Pick<Shares, "check" | "attach">;
}

/** The running server: the service handle plus the global broadcast the extension wires events to. */
export interface WsServer extends WsTransport {
  /** Serializes `frame` once and sends it to every connection. */
  broadcast(frame: ServerMessage): void;
  /** A turn started (the TurnStarted kernel event): wildcard channel watchers follow it. */
  turnStarted(conversationId: string, turnId: string): void;
  /** A turn was settled (TurnSettled): its conversation is no longer held for channels. */
  turnSettled(conversationId: string): void;
}

/** Binds the port and starts serving. Throws WsTransportError WS_LISTEN_FAILED when it cannot bind. */
export function startWsServer(deps: WsServerDeps): WsServer {
  const { config, registry, orchestrator, logger } = deps;
  const access = deps.access ?? browserAccess();
  let server: Server<ConnData> | undefined;
  const compress = config.compression !== "off";
  const fanout = new Fanout({
    publish: (topic, text) => server?.publish(topic, text, compress) ?? 0,
    compress,
    cap: config.maxBufferedBytes,
    logger,
    orchestrator,
    registry,
    ...(deps.workspaceOf === undefined ? {} : { workspaceOf: deps.workspaceOf }),
  });
  const closedListeners = new Set<(c: ConnectionClosed) => void>();
  const connections = connectionMetrics(deps.metrics);
  let catalogText = JSON.stringify(catalogFrame(registry.catalog()));
  let stopped = false;
  let view = operationsView(registry.catalog(), deps);
  const frames: FrameContext = {
    config,
    logger,
    fanout,
    services: {
      orchestrator,
      registry,
      gate: deps.gate,
    },
    view: () => view,
    now: deps.now,
    releveled: (data) => connections.relevel(data),
  };

  /** Runs `fn`; an exception is logged with a code instead of escaping into Bun or a service. */
  function guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      logger.error(`${what} failed`, { code: "WS_INTERNAL_ERROR", error: errorText(err) });
    }
  }

  function onClose(ws: Socket, code: number, reason: string): void {
    ws.data.detach?.();
    fanout.drop(ws);
    connections.closed(ws.data, code, reason);
    logger.debug("connection closed", {
      conn: ws.data.id,
      protocolLevel: connectionLevel(ws.data),
      code,
      reason,
    });
    for (const l of [...closedListeners])
      guard("connection-closed listener", () => l({ id: ws.data.id, code, reason }));
  }

  try {
    server = Bun.serve<ConnData>({
      hostname: config.host,
      port: config.port,
      development: false,
      reusePort: false,
      fetch: upgradeHandler({
        config,
        token: deps.token,
        access,
        logger,
        now: deps.now,
        ...(deps.shares === undefined ? {} : { shares: deps.shares }),
      }),
      websocket: {
        maxPayloadLength: config.maxPayloadBytes,
        backpressureLimit: config.maxBufferedBytes * 2,
        closeOnBackpressureLimit: true,
        idleTimeout: config.idleTimeoutSec,
        sendPings: true,
        // Offered at all unless "off"; with "remote" the upgrade hides the offer of loopback clients.
        perMessageDeflate: compress,
        publishToSelf: false,
        open(ws) {
          try {
            fanout.open(ws, catalogText);
            connections.opened(ws.data);
            const role = ws.data.role;
            // Revocation or expiry closes it with 4403 (at once when the share ended meanwhile).
            if (role.kind === "viewer" && deps.shares !== undefined)
              ws.data.detach = deps.shares.attach(role.shareId, {
                close: (code, reason) => ws.close(code, reason),
              });
            logger.debug("connection opened", {
              conn: ws.data.id,
              protocolLevel: connectionLevel(ws.data),
              authenticated: ws.data.authenticated,
            });
          } catch (err) {
            internalError(frames, ws, err, false, undefined);
          }
        },
        message: (ws, raw) => handleFrame(frames, ws, raw),
        close(ws, code, reason) {
          guard("ws close handler", () => onClose(ws, code, reason));
        },
        error(err, ws) {
          logger.error("ws handler threw", {
            code: "WS_INTERNAL_ERROR",
            conn: ws.data.id,
            error: errorText(err),
          });
        },
      },
    });
  } catch (err) {
    throw new WsTransportError(
      "WS_LISTEN_FAILED",
      `transport-ws cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  const disposers = [
    registry.onCatalogChanged((next) =>
      guard("catalog push", () => {
        view = operationsView(next, deps);
        const catalog = catalogFrame(next);
        catalogText = JSON.stringify(catalog);
        fanout.broadcast(catalog, catalogText);
      }),
    ),
    registry.onSpecChanged((surfaceId, ctx) =>
      guard("surface update", () => fanout.specChanged(surfaceId, ctx)),
    ),
  ];

  const bound = server;
  const hostname = bound.hostname ?? config.host;
  const port = bound.port ?? config.port;
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;

  return {
    port,
    hostname,
    url: `ws://${urlHost}:${port}`,
    token: deps.token,
    broadcast(frame) {
      if (!stopped) guard("broadcast", () => fanout.broadcast(frame));
    },
    turnStarted(conversationId, turnId) {
      if (!stopped) guard("channel tap", () => fanout.turnStarted(conversationId, turnId));
    },
    turnSettled(conversationId) {
      if (!stopped) guard("channel release", () => fanout.turnSettled(conversationId));
    },
    connections: () => [...fanout.sockets].map((ws) => connectionInfo(ws, fanout)),
    onConnectionClosed(listener) {
      closedListeners.add(listener);
      return () => {
        closedListeners.delete(listener);
      };
    },
    async close() {
      if (stopped) return;
      stopped = true;
      for (const d of disposers) await d();
      for (const ws of [...fanout.sockets]) ws.close(CloseCodes.goingAway, "server shutting down");
      await bound.stop(true);
    },
  };
}

/** The core's view of the surfaces and the server, for one catalog. */
export function operationsView(
  catalog: CatalogEntry[],
  deps: Pick<WsServerDeps, "newConversationId" | "serverVersion">,
): OperationsView {
  const scopes = new Map<string, SurfaceScope>(catalog.map((e) => [e.id, e.scope ?? "conversation"]));
  return {
    surfaceScope: (id) => scopes.get(id),
    newConversationId: deps.newConversationId,
    server: { name: "dispatch", version: deps.serverVersion ?? "0.1.0" },
  };
}

/** A snapshot of one connection. */
export function connectionInfo(ws: Socket, fanout: Fanout): ConnectionInfo {
  return {
    id: ws.data.id,
    remoteAddress: ws.remoteAddress,
    authenticated: ws.data.authenticated,
    level: ws.data.level,
    conversations: [...fanout.conversationsOf(ws)],
    surfaces: ws.data.surfaces.size,
    bufferedBytes: ws.getBufferedAmount(),
  };
}
