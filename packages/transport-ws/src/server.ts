/**
 * The shell: one Bun.serve, only I/O. Every decision is made by pure modules — the connection policy
 * (policy.ts), the rate limit (rate-limit.ts), the router (router.ts) and the replies (replies.ts); this
 * file applies them to sockets.
 *
 * Fan-out: each conversation event is serialized once and published to the conversation's topic with
 * Bun's native pub/sub (`conv:<id>`); catalog and conversation broadcasts go to one global topic that
 * every connection joins. Nothing here loops over watchers per event, except to close slow consumers
 * after a publish reported backpressure.
 *
 * Backpressure: every send and publish result is checked. A connection whose unsent output passes
 * `maxBufferedBytes` is closed with 4008; Bun's own `backpressureLimit` (twice the cap, close on
 * reach) is the hard memory bound behind that check.
 */
import type { Logger } from "@dispatch/kernel";
import { parseClientMessage } from "@dispatch/protocol";
import type { ParseClientMessageResult, ServerMessage, SurfaceScope } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator";
import type { CatalogEntry, SurfaceContext, SurfaceRegistry } from "@dispatch/surface-registry";
import type { Server, ServerWebSocket } from "bun";
import { ownHttpOrigins, type WsConfig } from "./config";
import {
  CloseCodes,
  type ConnectionClosed,
  type ConnectionInfo,
  type WsTransport,
  WsTransportError,
} from "./contract";
import { type ConnectionPolicy, checkUpgrade, createConnectionPolicy } from "./policy";
import { chargeFrame, initialRateState, type RateState } from "./rate-limit";
import {
  ackFrames,
  catalogFrame,
  chatReplies,
  deltaFrame,
  errorFrame,
  internalErrorFrame,
  invokeReplies,
  presenceFrame,
  specReplies,
  updateFrame,
} from "./replies";
import { type RouteOutcome, type RouterView, routeClientMessage, type SurfaceTarget } from "./router";

export interface WsServerDeps {
  config: WsConfig;
  /** The token clients present. */
  token: string;
  registry: SurfaceRegistry;
  orchestrator: Orchestrator;
  logger: Logger;
  /** Mints conversation ids (UUIDs). */
  newConversationId: () => string;
  /** Clock (ms) for the rate limit. */
  now: () => number;
}

/** The running server: the service handle plus the global broadcast the extension wires events to. */
export interface WsServer extends WsTransport {
  /** Serializes `frame` once and sends it to every connection. */
  broadcast(frame: ServerMessage): void;
}

interface ConnData {
  id: number;
  authenticated: boolean;
  open: boolean;
  rate: RateState;
  /** Surface subscription keys (router's ConnectionState). */
  surfaces: Set<string>;
  /** Watched conversations (router's ConnectionState). */
  conversations: Set<string>;
}
type Socket = ServerWebSocket<ConnData>;

/** The subscribers of one (surfaceId, conversationId) and the state of its spec refresh. */
interface SurfaceEntry {
  target: SurfaceTarget;
  topic: string;
  sockets: Set<Socket>;
  fetching: boolean;
  dirty: boolean;
}

const GLOBAL_TOPIC = "global";
const convTopic = (conversationId: string) => `conv:${conversationId}`;
const surfaceTopic = (key: string) => `surface:${key}`;

function surfaceCtx(target: SurfaceTarget): SurfaceContext | undefined {
  return target.conversationId === undefined ? undefined : { conversationId: target.conversationId };
}

function scopeMap(catalog: CatalogEntry[]): Map<string, SurfaceScope> {
  return new Map(catalog.map((e) => [e.id, e.scope ?? "conversation"]));
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Binds the port and starts serving. Throws WsTransportError WS_LISTEN_FAILED when it cannot bind. */
export function startWsServer(deps: WsServerDeps): WsServer {
  const { config, registry, orchestrator, logger } = deps;
  const cap = config.maxBufferedBytes;
  const policy: ConnectionPolicy = createConnectionPolicy({
    bindHost: config.host,
    token: deps.token,
    allowedOrigins: config.allowedOrigins,
    httpOrigins: ownHttpOrigins(config),
    allowedHosts: config.allowedHosts,
    requireTokenForBrowsers: config.requireTokenForBrowsers,
  });

  const sockets = new Set<Socket>();
  const watchers = new Map<string, Set<Socket>>();
  /** Subscription key → its subscribers (few: one per surface and watched conversation). */
  const surfaceSubs = new Map<string, SurfaceEntry>();
  const closedListeners = new Set<(c: ConnectionClosed) => void>();
  let scopes = scopeMap(registry.catalog());
  let catalogText = JSON.stringify(catalogFrame(registry.catalog()));
  let nextId = 1;
  let stopped = false;

  const view: RouterView = {
    surfaceScope: (id) => scopes.get(id),
    newConversationId: deps.newConversationId,
  };

  // ───────────── sending, with every result checked ─────────────

  function closeSlow(ws: Socket): void {
    if (!ws.data.open) return;
    logger.warn("closing slow consumer", { conn: ws.data.id, bufferedBytes: ws.getBufferedAmount(), cap });
    ws.close(CloseCodes.slowConsumer, "slow consumer");
  }

  /** Sends one text frame; false (and the connection closed with 4008) when it is over the cap. */
  function sendText(ws: Socket, text: string): boolean {
    if (!ws.data.open) return false;
    const status = ws.send(text, false);
    if (status === 0 || (status === -1 && ws.getBufferedAmount() > cap)) {
      closeSlow(ws);
      return false;
    }
    return true;
  }

  function sendFrames(ws: Socket, frames: readonly ServerMessage[]): void {
    for (const f of frames) if (!sendText(ws, JSON.stringify(f))) return;
  }

  /** Publishes once; when Bun reports backpressure or a drop, closes the subscribers over the cap. */
  function publish(topic: string, text: string, subscribers: Iterable<Socket>): void {
    const status = server.publish(topic, text, false);
    if (status > 0) return;
    for (const ws of [...subscribers]) if (ws.data.open && ws.getBufferedAmount() > cap) closeSlow(ws);
  }

  // ───────────── conversations: replay, watch, presence ─────────────

  function publishPresence(conversationId: string): void {
    const set = watchers.get(conversationId);
    if (set === undefined) return;
    publish(convTopic(conversationId), JSON.stringify(presenceFrame(conversationId, set.size)), set);
  }

  /**
   * Replays to this socket then joins the topic in the same synchronous tick: no event can be
   * published in between, so nothing is lost or duplicated.
   */
  function watch(ws: Socket, conversationId: string, resume?: { turnId: string; n: number }): boolean {
    for (const e of orchestrator.replay(conversationId, resume)) {
      if (!sendText(ws, JSON.stringify(deltaFrame(e.event, e.n)))) return false;
    }
    if (!ws.data.open) return false;
    ws.subscribe(convTopic(conversationId));
    ws.data.conversations.add(conversationId);
    let set = watchers.get(conversationId);
    if (set === undefined) {
      set = new Set();
      watchers.set(conversationId, set);
    }
    set.add(ws);
    publishPresence(conversationId);
    return true;
  }

  function unwatch(ws: Socket, conversationId: string): void {
    if (ws.data.open) ws.unsubscribe(convTopic(conversationId));
    ws.data.conversations.delete(conversationId);
    const set = watchers.get(conversationId);
    if (set === undefined) return;
    set.delete(ws);
    if (set.size === 0) watchers.delete(conversationId);
    else publishPresence(conversationId);
  }

  // ───────────── surfaces ─────────────

  function addSurface(ws: Socket, target: SurfaceTarget): void {
    let entry = surfaceSubs.get(target.key);
    if (entry === undefined) {
      entry = { target, topic: surfaceTopic(target.key), sockets: new Set(), fetching: false, dirty: false };
      surfaceSubs.set(target.key, entry);
    }
    entry.sockets.add(ws);
    ws.data.surfaces.add(target.key);
    ws.subscribe(entry.topic);
  }

  function removeSurface(ws: Socket, key: string): void {
    ws.data.surfaces.delete(key);
    const entry = surfaceSubs.get(key);
    if (entry === undefined) return;
    if (ws.data.open) ws.unsubscribe(entry.topic);
    entry.sockets.delete(ws);
    if (entry.sockets.size === 0) surfaceSubs.delete(key);
  }

  /** Fetches the spec and publishes `update`; changes during a fetch coalesce into one more fetch. */
  async function refresh(entry: SurfaceEntry): Promise<void> {
    if (entry.fetching) {
      entry.dirty = true;
      return;
    }
    entry.fetching = true;
    try {
      do {
        entry.dirty = false;
        const r = await registry.getSpec(entry.target.surfaceId, surfaceCtx(entry.target));
        if (entry.sockets.size === 0 || stopped) break;
        if (r.ok) publish(entry.topic, JSON.stringify(updateFrame(entry.target, r.value)), entry.sockets);
        else
          logger.warn("surface spec refresh failed", {
            surfaceId: entry.target.surfaceId,
            code: r.error.code,
          });
      } while (entry.dirty);
    } finally {
      entry.fetching = false;
    }
  }

  function onSpecChanged(surfaceId: string, ctx?: SurfaceContext): void {
    const only = ctx?.conversationId;
    for (const entry of surfaceSubs.values()) {
      if (entry.target.surfaceId !== surfaceId) continue;
      if (only !== undefined && entry.target.scope === "conversation" && entry.target.conversationId !== only)
        continue;
      refresh(entry).catch((err: unknown) =>
        logger.error("surface refresh threw", { code: "WS_INTERNAL_ERROR", error: errorText(err) }),
      );
    }
  }

  // ───────────── applying outcomes ─────────────

  /** Runs an async op; an unexpected rejection is logged and answered with a generic error. */
  function runAsync(ws: Socket, isChat: boolean, replyTo: string | undefined, op: () => Promise<void>): void {
    op().catch((err: unknown) => internalError(ws, err, isChat, replyTo));
  }

  function internalError(ws: Socket, err: unknown, isChat: boolean, replyTo: string | undefined): void {
    logger.error("ws handler failed", { code: "WS_INTERNAL_ERROR", conn: ws.data.id, error: errorText(err) });
    sendFrames(ws, [internalErrorFrame(isChat, replyTo)]);
  }

  /** Applies an outcome; returns the frames to send now (async ops send theirs when they finish). */
  function apply(ws: Socket, outcome: RouteOutcome): readonly ServerMessage[] {
    switch (outcome.kind) {
      case "reply":
        return outcome.frames;
      case "reject":
        return [outcome.frame];
      case "surface.subscribe": {
        const { target, added, replyTo } = outcome;
        if (added) addSurface(ws, target);
        runAsync(ws, false, replyTo, async () => {
          const r = await registry.getSpec(target.surfaceId, surfaceCtx(target));
          if (!r.ok && added) removeSurface(ws, target.key);
          sendFrames(ws, specReplies(target, r, replyTo));
        });
        return [];
      }
      case "surface.unsubscribe":
        removeSurface(ws, outcome.target.key);
        return ackFrames(outcome.replyTo);
      case "surface.invoke": {
        const { surfaceId, actionId, payload, conversationId, replyTo } = outcome;
        runAsync(ws, false, replyTo, async () => {
          const ctx = conversationId === undefined ? undefined : { conversationId };
          const r = await registry.invoke(surfaceId, actionId, payload, ctx);
          sendFrames(ws, invokeReplies(surfaceId, r, replyTo));
        });
        return [];
      }
      case "chat.send": {
        const cid = outcome.turn.conversationId;
        const r = orchestrator.startTurn(outcome.turn);
        // Joining after the start replays the new turn from its first event (same tick: nothing missed).
        if (r.ok && !ws.data.conversations.has(cid)) watch(ws, cid);
        return chatReplies(cid, r, outcome.replyTo);
      }
      case "chat.subscribe":
        watch(ws, outcome.conversationId, outcome.resume);
        return ackFrames(outcome.replyTo);
      case "chat.unsubscribe":
        unwatch(ws, outcome.conversationId);
        return ackFrames(outcome.replyTo);
      case "chat.queue": {
        const { conversationId: cid, text, workspaceId, replyTo } = outcome;
        const r = orchestrator.enqueue(cid, text, workspaceId === undefined ? {} : { workspaceId });
        if (r.ok && r.value.startedTurn && !ws.data.conversations.has(cid)) watch(ws, cid);
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
        return chatReplies(cid, orchestrator.resolvePermission(cid, requestId, decision), replyTo);
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
      const charged = chargeFrame(config.rateLimit, ws.data.rate, deps.now());
      ws.data.rate = charged.state;
      if (charged.verdict === "close") {
        logger.warn("closing connection over the rate limit", { conn: ws.data.id });
        ws.close(CloseCodes.policyViolation, "rate limit exceeded");
        return;
      }
      if (charged.verdict === "warn") {
        const msg = `rate limit exceeded (${config.rateLimit.perSecond} frames/s); frames are being dropped`;
        sendFrames(ws, [errorFrame(msg, { code: "WS_RATE_LIMITED" })]);
      }
      if (charged.verdict !== "allow") return;
      parsed = parseClientMessage(typeof raw === "string" ? raw : new Uint8Array(raw));
      sendFrames(ws, apply(ws, routeClientMessage(view, ws.data, parsed)));
    } catch (err) {
      const isChat = parsed?.ok === true ? parsed.message.type.startsWith("chat.") : false;
      internalError(ws, err, isChat, parsed?.ok === true ? parsed.message.id : undefined);
    }
  }

  function onClose(ws: Socket, code: number, reason: string): void {
    ws.data.open = false;
    sockets.delete(ws);
    for (const cid of [...ws.data.conversations]) unwatch(ws, cid);
    for (const key of [...ws.data.surfaces]) removeSurface(ws, key);
    logger.debug("connection closed", { conn: ws.data.id, code, reason });
    for (const l of [...closedListeners]) {
      try {
        l({ id: ws.data.id, code, reason });
      } catch (err) {
        logger.error("connection-closed listener threw", {
          code: "WS_INTERNAL_ERROR",
          error: errorText(err),
        });
      }
    }
  }

  // ───────────── Bun.serve ─────────────

  let server: Server<ConnData>;
  try {
    server = Bun.serve<ConnData>({
      hostname: config.host,
      port: config.port,
      development: false,
      reusePort: false,
      fetch(req, srv) {
        try {
          const decision = checkUpgrade(policy, req.method, req.headers);
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
        backpressureLimit: cap * 2,
        closeOnBackpressureLimit: true,
        idleTimeout: config.idleTimeoutSec,
        sendPings: true,
        perMessageDeflate: false,
        publishToSelf: false,
        open(ws) {
          try {
            ws.data.open = true;
            sockets.add(ws);
            ws.subscribe(GLOBAL_TOPIC);
            sendText(ws, catalogText);
            logger.debug("connection opened", { conn: ws.data.id, authenticated: ws.data.authenticated });
          } catch (err) {
            internalError(ws, err, false, undefined);
          }
        },
        message: onMessage,
        close(ws, code, reason) {
          try {
            onClose(ws, code, reason);
          } catch (err) {
            logger.error("ws close handler failed", { code: "WS_INTERNAL_ERROR", error: errorText(err) });
          }
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
    registry.onCatalogChanged((catalog) => {
      scopes = scopeMap(catalog);
      catalogText = JSON.stringify(catalogFrame(catalog));
      publish(GLOBAL_TOPIC, catalogText, sockets);
    }),
    registry.onSpecChanged(onSpecChanged),
    orchestrator.onConversationEvent((conversationId, event, n) => {
      const set = watchers.get(conversationId);
      if (set === undefined) return; // nobody watches: not even serialized
      publish(convTopic(conversationId), JSON.stringify(deltaFrame(event, n)), set);
    }),
  ];

  const hostname = server.hostname ?? config.host;
  const port = server.port ?? config.port;
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;

  return {
    port,
    hostname,
    url: `ws://${urlHost}:${port}`,
    token: deps.token,
    broadcast(frame) {
      if (!stopped) publish(GLOBAL_TOPIC, JSON.stringify(frame), sockets);
    },
    connections(): ConnectionInfo[] {
      return [...sockets].map((ws) => ({
        id: ws.data.id,
        remoteAddress: ws.remoteAddress,
        authenticated: ws.data.authenticated,
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
      for (const ws of [...sockets]) ws.close(CloseCodes.goingAway, "server shutting down");
      await server.stop(true);
    },
  };
}
