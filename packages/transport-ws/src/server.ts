/**
 * The shell: one Bun.serve, only I/O. Every decision is made by pure modules — the connection policy
 * (@dispatch/connection-policy, before upgrading), the rate limit (rate-limit.ts), the router
 * (router.ts) and the replies (replies.ts); who receives what is fanout.ts. This file applies outcomes
 * to sockets and never lets an exception out of a handler: it is logged with a code and answered with
 * a generic error.
 */

import { type ConnectionPolicy, checkUpgrade, createConnectionPolicy } from "@dispatch/connection-policy";
import type { Logger } from "@dispatch/kernel";
import type { MetricsRegistry } from "@dispatch/metrics";
import { DEFAULT_PROTOCOL_LEVEL, parseClientMessage } from "@dispatch/protocol";
import type { ParseClientMessageResult, ServerMessage, SurfaceScope } from "@dispatch/protocol/types";
import { answerPermission, type Orchestrator } from "@dispatch/session-orchestrator";
import type { CatalogEntry, SurfaceRegistry } from "@dispatch/surface-registry";
import type { PermissionGate } from "@dispatch/tools/contract";
import type { Server } from "bun";
import { browserAccess } from "./access";
import { ownHttpOrigins, type WsConfig } from "./config";
import { connectionLevel, connectionMetrics, RATE_LIMIT_CLOSE_REASON } from "./connection-metrics";
import {
  type BrowserAccess,
  CloseCodes,
  type ConnectionClosed,
  type ConnectionInfo,
  type WsTransport,
  WsTransportError,
} from "./contract";
import { type ConnData, errorText, Fanout, type Socket } from "./fanout";
import { GRANT_NEEDS_TOKEN } from "./grant";
import { chargeFrame, initialRateState } from "./rate-limit";
import {
  ackFrames,
  catalogFrame,
  chatReplies,
  glanceAtFrame,
  internalErrorFrame,
  invokeReplies,
  rateLimitedReplies,
  specReplies,
} from "./replies";
import { type RouteOutcome, type RouterView, routeClientMessage } from "./router";

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
  /** Connection metrics are recorded here; absent = a detached registry. */
  metrics?: MetricsRegistry;
}

/** The running server: the service handle plus the global broadcast the extension wires events to. */
export interface WsServer extends WsTransport {
  /** Serializes `frame` once and sends it to every connection. */
  broadcast(frame: ServerMessage): void;
}

function scopeMap(catalog: CatalogEntry[]): Map<string, SurfaceScope> {
  return new Map(catalog.map((e) => [e.id, e.scope ?? "conversation"]));
}

/** Binds the port and starts serving. Throws WsTransportError WS_LISTEN_FAILED when it cannot bind. */
export function startWsServer(deps: WsServerDeps): WsServer {
  const { config, registry, orchestrator, logger } = deps;
  const access = deps.access ?? browserAccess();
  // Rebuilt once the HTTP port is known: pages it serves are then allowed origins whatever the ports.
  let policy: ConnectionPolicy | undefined;
  let policyHttpPort: number | undefined;
  const currentPolicy = (): ConnectionPolicy => {
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
  let server: Server<ConnData> | undefined;
  const fanout = new Fanout({
    publish: (topic, text) => server?.publish(topic, text, false) ?? 0,
    cap: config.maxBufferedBytes,
    logger,
    orchestrator,
    registry,
  });
  const closedListeners = new Set<(c: ConnectionClosed) => void>();
  const connections = connectionMetrics(deps.metrics);
  let scopes = scopeMap(registry.catalog());
  let catalog = catalogFrame(registry.catalog());
  let catalogText = JSON.stringify(catalog);
  let nextId = 1;
  let stopped = false;

  const view: RouterView = {
    surfaceScope: (id) => scopes.get(id),
    newConversationId: deps.newConversationId,
    server: { name: "dispatch", version: deps.serverVersion ?? "0.1.0" },
  };
  const send = (ws: Socket, frames: readonly ServerMessage[]) => fanout.sendFrames(ws, frames);

  /** Runs `fn`; an exception is logged with a code instead of escaping into Bun or a service. */
  function guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      logger.error(`${what} failed`, { code: "WS_INTERNAL_ERROR", error: errorText(err) });
    }
  }

  // ───────────── applying outcomes ─────────────

  /** Runs an async op; an unexpected rejection is logged and answered with a generic error. */
  function runAsync(ws: Socket, isChat: boolean, replyTo: string | undefined, op: () => Promise<void>): void {
    op().catch((err: unknown) => internalError(ws, err, isChat, replyTo));
  }

  function internalError(ws: Socket, err: unknown, isChat: boolean, replyTo: string | undefined): void {
    logger.error("ws handler failed", { code: "WS_INTERNAL_ERROR", conn: ws.data.id, error: errorText(err) });
    send(ws, [internalErrorFrame(isChat, replyTo)]);
  }

  /** Applies an outcome; returns the frames to send now (async ops send theirs when they finish). */
  function apply(ws: Socket, outcome: RouteOutcome): readonly ServerMessage[] {
    switch (outcome.kind) {
      case "reply":
        return outcome.frames;
      case "hello":
        ws.data.greeted = true;
        fanout.setLevel(ws, outcome.level);
        connections.relevel(ws.data);
        return outcome.frames;
      case "reject":
        return [outcome.frame];
      case "surface.subscribe": {
        const { target, added, replyTo } = outcome;
        if (added) fanout.addSurface(ws, target);
        runAsync(ws, false, replyTo, async () => {
          const r = await fanout.subscriberSpec(target);
          if (!r.ok && added) fanout.removeSurface(ws, target.key);
          send(ws, specReplies(target, r, replyTo));
        });
        return [];
      }
      case "surface.unsubscribe":
        fanout.removeSurface(ws, outcome.target.key);
        return ackFrames(outcome.replyTo);
      case "surface.invoke": {
        const { surfaceId, actionId, payload, conversationId, replyTo } = outcome;
        runAsync(ws, false, replyTo, async () => {
          const ctx = conversationId === undefined ? undefined : { conversationId };
          const r = await registry.invoke(surfaceId, actionId, payload, ctx);
          send(ws, invokeReplies(surfaceId, r, replyTo));
        });
        return [];
      }
      case "chat.send": {
        const cid = outcome.turn.conversationId;
        if (outcome.turn.grant !== undefined && !ws.data.authenticated)
          return chatReplies(cid, { ok: false, error: GRANT_NEEDS_TOKEN }, outcome.replyTo);
        const r = orchestrator.startTurn(outcome.turn);
        // Joining after the start replays the new turn from its first event (same tick: nothing missed).
        if (r.ok && !ws.data.conversations.has(cid)) fanout.watch(ws, cid);
        return chatReplies(cid, r, outcome.replyTo);
      }
      case "chat.subscribe":
        fanout.watch(ws, outcome.conversationId, outcome.resume);
        return ackFrames(outcome.replyTo);
      case "chat.unsubscribe":
        fanout.unwatch(ws, outcome.conversationId);
        return ackFrames(outcome.replyTo);
      case "chat.queue": {
        const { conversationId: cid, text, workspaceId, replyTo } = outcome;
        const r = orchestrator.enqueue(cid, text, workspaceId === undefined ? {} : { workspaceId });
        if (r.ok && r.value.startedTurn && !ws.data.conversations.has(cid)) fanout.watch(ws, cid);
        return chatReplies(cid, r, replyTo);
      }
      case "chat.queue.cancel":
        // Idempotent: a message that is no longer queued is simply not there.
        orchestrator.cancelQueued(outcome.conversationId, outcome.messageId);
        return ackFrames(outcome.replyTo);
      case "chat.stop":
        orchestrator.stopTurn(outcome.conversationId);
        return ackFrames(outcome.replyTo);
      case "chat.permission": {
        const { conversationId: cid, requestId, decision, replyTo } = outcome;
        return chatReplies(cid, answerPermission(deps.gate, cid, requestId, decision), replyTo);
      }
      default:
        return unreachable(outcome);
    }
  }

  function unreachable(outcome: never): readonly ServerMessage[] {
    logger.error("unhandled route outcome", { code: "WS_INTERNAL_ERROR", outcome });
    return [internalErrorFrame(false)];
  }

  function onMessage(ws: Socket, raw: string | Buffer<ArrayBuffer>): void {
    let parsed: ParseClientMessageResult | undefined;
    try {
      // Charged before anything is parsed: a dropped frame costs no JSON.parse (its length is the
      // string's, in UTF-16 units, which is cheap and close enough for a budget).
      const size = typeof raw === "string" ? raw.length : raw.byteLength;
      const charged = chargeFrame(config.rateLimit, ws.data.rate, deps.now(), size);
      ws.data.rate = charged.state;
      if (charged.verdict === "close") {
        logger.warn("closing connection over the rate limit", { conn: ws.data.id });
        ws.close(CloseCodes.policyViolation, RATE_LIMIT_CLOSE_REASON);
        return;
      }
      const frame = typeof raw === "string" ? raw : new Uint8Array(raw);
      if (charged.verdict !== "allow") {
        send(ws, rateLimitedReplies(charged.verdict, glanceAtFrame(frame), config.rateLimit.perSecond));
        return;
      }
      parsed = parseClientMessage(frame);
      const outcome = routeClientMessage(view, ws.data, parsed);
      if (parsed.ok && parsed.message.type !== "hello") ws.data.spoken = true;
      send(ws, apply(ws, outcome));
    } catch (err) {
      const isChat = parsed?.ok === true ? parsed.message.type.startsWith("chat.") : false;
      internalError(ws, err, isChat, parsed?.ok === true ? parsed.message.id : undefined);
    }
  }

  function onClose(ws: Socket, code: number, reason: string): void {
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

  // ───────────── Bun.serve ─────────────

  try {
    server = Bun.serve<ConnData>({
      hostname: config.host,
      port: config.port,
      development: false,
      reusePort: false,
      fetch(req, srv) {
        try {
          const decision = checkUpgrade(currentPolicy(), req.method, req.headers, {
            session: () => access.sessions.check(req.headers.get("cookie")),
            peerIsOwner: () => access.peerOwner(srv.requestIP(req), srv.port ?? config.port, config.host),
          });
          if (!decision.ok) {
            const headers: Record<string, string> = { "Content-Type": "application/json" };
            if (decision.status === 426) headers.Upgrade = "websocket";
            return new Response(JSON.stringify({ error: decision.message, code: decision.code }), {
              status: decision.status,
              headers,
            });
          }
          const data: ConnData = {
            id: nextId++,
            authenticated: decision.authenticated,
            open: false,
            rate: initialRateState(config.rateLimit, deps.now()),
            level: DEFAULT_PROTOCOL_LEVEL,
            greeted: false,
            spoken: false,
            surfaces: new Set(),
            conversations: new Set(),
          };
          const headers =
            decision.subprotocol === undefined
              ? undefined
              : { "Sec-WebSocket-Protocol": decision.subprotocol };
          if (srv.upgrade(req, headers === undefined ? { data } : { data, headers })) return undefined;
          return new Response(JSON.stringify({ error: "WebSocket upgrade failed" }), { status: 400 });
        } catch (err) {
          logger.error("ws upgrade failed", { code: "WS_INTERNAL_ERROR", error: errorText(err) });
          return new Response(JSON.stringify({ error: "internal server error" }), { status: 500 });
        }
      },
      websocket: {
        maxPayloadLength: config.maxPayloadBytes,
        backpressureLimit: config.maxBufferedBytes * 2,
        closeOnBackpressureLimit: true,
        idleTimeout: config.idleTimeoutSec,
        sendPings: true,
        perMessageDeflate: false,
        publishToSelf: false,
        open(ws) {
          try {
            fanout.open(ws, catalogText);
            connections.opened(ws.data);
            logger.debug("connection opened", {
              conn: ws.data.id,
              protocolLevel: connectionLevel(ws.data),
              authenticated: ws.data.authenticated,
            });
          } catch (err) {
            internalError(ws, err, false, undefined);
          }
        },
        message: onMessage,
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
        scopes = scopeMap(next);
        catalog = catalogFrame(next);
        catalogText = JSON.stringify(catalog);
        fanout.broadcast(catalog, catalogText);
      }),
    ),
    registry.onSpecChanged((surfaceId, ctx) =>
      guard("surface update", () => fanout.specChanged(surfaceId, ctx)),
    ),
    orchestrator.onConversationEvent((cid, event, n) =>
      guard("event fan-out", () => fanout.event(cid, event, n)),
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
    connections(): ConnectionInfo[] {
      return [...fanout.sockets].map((ws) => ({
        id: ws.data.id,
        remoteAddress: ws.remoteAddress,
        authenticated: ws.data.authenticated,
        level: ws.data.level,
        conversations: [...ws.data.conversations],
        surfaces: ws.data.surfaces.size,
        bufferedBytes: ws.getBufferedAmount(),
      }));
    },
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
