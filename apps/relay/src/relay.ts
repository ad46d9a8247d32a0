/**
 * `dispatch relay`: serves share viewers from Redis (PROTOCOL.md §8 "Relays") — WebSocket, SSE and
 * long-poll, the viewer page, `/health` and `/metrics`, HTTP and the WebSocket upgrade on one port.
 *
 * Guarantees:
 * - Viewer operations only. Every frame is decided by the operations core for a viewer caller (the
 *   daemon's own roles table), so owner commands get the daemon's FORBIDDEN; HTTP routes the daemon
 *   reserves for owners answer 403 FORBIDDEN to a viewer and 401 without a share; the relay runs
 *   nothing an owner could ask (no turns, no settings, no surfaces).
 * - Stateless beyond its connections: everything comes from Redis (feeds.ts), so relays are
 *   interchangeable and a viewer resumes on any of them from its last event.
 * - Its own limits: connections per address, a per-connection output cap (slow consumers close with
 *   4008 and may resume), wrong-secret rate limits per address; a share's viewers close with 4403
 *   within a second of its revocation (pub/sub, and a once-a-second sweep behind it) or at expiry.
 */
import {
  Batcher,
  batchText,
  deltaText,
  formatCursor,
  formatEventId,
  parseChannel,
  parseCursor,
  parseEventId,
  parseWaitMs,
  SSE_HEADERS,
  sseComment,
  sseFrame,
  sseRetry,
} from "@dispatch/event-streams";
import { createMetricsRegistry, PROMETHEUS_CONTENT_TYPE, registerProcessMetrics } from "@dispatch/metrics";
import {
  authorize,
  type Caller,
  type Command,
  type ConnectionEffects,
  decide,
  type OperationsView,
  type Reply,
  runEffects,
} from "@dispatch/operations";
import { eventVisibleAt, httpRoutes, type ProtocolLevel, parseClientMessage } from "@dispatch/protocol";
import type { ResumePoint, ServerMessage } from "@dispatch/protocol/types";
import {
  DEFAULT_PREFIX,
  decodeShare,
  decodeShareNotice,
  RedisLink,
  redactUrl,
  type StreamEntry,
  shareKey,
  shareLive,
  sharesChannel,
} from "@dispatch/relay-streams";
import { SHARE_ENDED_CLOSE_CODE } from "@dispatch/shares";
import { parseFailureFrame, replyFrames } from "@dispatch/transport-ws";
import { VIEWER_ASSET_PREFIX, viewerAsset, viewerPage } from "@dispatch/viewer-page";
import type { Server, ServerWebSocket } from "bun";
import packageJson from "../package.json";
import { AddressSlots, Admission, type Admitted } from "./admission";
import { Feeds } from "./feeds";

export const RELAY_VERSION: string = packageJson.version;

export interface RelayLimits {
  /** Open connections (WebSocket, SSE, long-poll) per client address. */
  connectionsPerAddress: number;
  /** Unsent output of one connection before it is closed as a slow consumer (bytes). */
  maxBufferedBytes: number;
  /** Largest inbound frame (bytes). */
  maxFrameBytes: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  connectionsPerAddress: 2_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxFrameBytes: 64 * 1024,
};

export interface RelayOptions {
  redis: string;
  port: number;
  hostname?: string;
  prefix?: string;
  limits?: Partial<RelayLimits>;
  /** Wrong secrets an address may present per minute. */
  secretFailuresPerMinute?: number;
}

export interface Relay {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

interface SocketData {
  share: Admitted;
  address: string;
  release: () => void;
  subprotocol: string;
  level: ProtocolLevel;
  greeted: boolean;
  spoken: boolean;
  watches: Map<string, () => void>;
  batcher: Batcher<StreamEntry> | undefined;
  closed: boolean;
}

const VIEW: OperationsView = {
  surfaceScope: () => undefined,
  newConversationId: () => crypto.randomUUID(),
  server: { name: "dispatch-relay", version: RELAY_VERSION },
};

/** A viewer's commands only ever watch; no service is reachable from the relay's interpreter. */
const NO_SERVICES = { orchestrator: {} as never, gate: undefined };

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}
const errorResponse = (status: number, code: string, error: string, headers?: Record<string, string>) =>
  jsonResponse(status, { error, code }, headers);

/** Pure: the daemon route a request names, with its path parameters. */
export function matchDaemonRoute(
  method: string,
  pathname: string,
): { role: "anyone" | "conversation" | "owner"; path: string; params: Record<string, string> } | undefined {
  const got = pathname.split("/");
  for (const r of httpRoutes) {
    if (r.method.toUpperCase() !== method.toUpperCase()) continue;
    const want = r.path.split("/");
    if (want.length !== got.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length && ok; i++) {
      const w = want[i] as string;
      const g = got[i] as string;
      if (w.startsWith("{")) {
        if (g === "") ok = false;
        else params[w.slice(1, -1)] = decodeURIComponent(g);
      } else if (w !== g) ok = false;
    }
    if (ok) return { role: r.role, path: r.path, params };
  }
  return undefined;
}

function viewerCaller(share: Admitted, level: ProtocolLevel, extra: Partial<Caller> = {}): Caller {
  return {
    role: { kind: "viewer", conversationId: share.conversationId, shareId: share.shareId },
    level,
    authenticated: false,
    connected: true,
    greeted: false,
    spoken: false,
    surfaces: new Set(),
    conversations: new Set(),
    channels: new Set(),
    ...extra,
  };
}

function streamLevel(req: Request, url: URL): ProtocolLevel {
  return req.headers.get("dispatch-protocol") === "2" || url.searchParams.get("protocol") === "2" ? 2 : 1;
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const limits: RelayLimits = { ...DEFAULT_RELAY_LIMITS, ...opts.limits };
  const metrics = createMetricsRegistry();
  registerProcessMetrics(metrics);
  const mConnections = metrics.gauge({
    name: "dispatch_relay_viewers",
    help: "Open viewer connections",
    labelNames: ["transport"],
  });
  const mDelivered = metrics.counter({
    name: "dispatch_relay_events_delivered_total",
    help: "Events handed to viewers",
  });
  const mRefused = metrics.counter({
    name: "dispatch_relay_refused_total",
    help: "Requests refused",
    labelNames: ["code"],
  });
  const mSlow = metrics.counter({
    name: "dispatch_relay_slow_consumers_total",
    help: "Connections closed as slow consumers",
  });
  const mEnded = metrics.counter({
    name: "dispatch_relay_share_closed_total",
    help: "Viewer connections closed because their share ended",
  });
  const mBad = metrics.counter({
    name: "dispatch_relay_bad_entries_total",
    help: "Stream entries that failed validation",
  });
  const mRedisUp = metrics.gauge({
    name: "dispatch_relay_redis_up",
    help: "1 while the relay reaches Redis",
  });
  const wsGauge = mConnections.labels("ws");
  const sseGauge = mConnections.labels("sse");
  const pollGauge = mConnections.labels("long-poll");

  const feeds = new Feeds({
    redis: opts.redis,
    prefix,
    onBadEntry: () => mBad.inc(),
    onEntries: (n) => mDelivered.inc(n),
  });
  metrics.beforeRender(() => mRedisUp.set(feeds.up ? 1 : 0));
  const admission = new Admission({
    prefix,
    get: (key) => feeds.cmd.send("GET", [key]),
    ...(opts.secretFailuresPerMinute === undefined
      ? {}
      : { budget: { max: opts.secretFailuresPerMinute, windowMs: 60_000, maxAddresses: 10_000 } }),
  });
  const slots = new AddressSlots(limits.connectionsPerAddress);

  /** Live viewers by share: closed with 4403 when it ends. */
  const byShare = new Map<string, Set<{ close(code: number, reason: string): void; expiresAt: number }>>();
  const attach = (shareId: string, expiresAt: number, close: (code: number, reason: string) => void) => {
    const entry = { close, expiresAt };
    const set = byShare.get(shareId) ?? new Set();
    set.add(entry);
    byShare.set(shareId, set);
    return () => {
      set.delete(entry);
      if (set.size === 0) byShare.delete(shareId);
    };
  };
  const endShare = (shareId: string, reason: string) => {
    const set = byShare.get(shareId);
    if (!set) return;
    byShare.delete(shareId);
    for (const v of set) {
      mEnded.inc();
      v.close(SHARE_ENDED_CLOSE_CODE, reason);
    }
  };
  const notices = new RedisLink({
    url: opts.redis,
    name: "relay share notices",
    subscribe: {
      channels: [sharesChannel(prefix)],
      listener: (message) => {
        const n = decodeShareNotice(message);
        if (n?.revoked) endShare(n.shareId, "share revoked");
      },
    },
  });
  // Behind pub/sub (a notice lost while a connection was down): each watched share, once a second.
  const sweep = setInterval(async () => {
    const now = Date.now();
    for (const [shareId, set] of [...byShare]) {
      if ([...set].some((v) => v.expiresAt <= now)) {
        endShare(shareId, "share expired");
        continue;
      }
      try {
        const rec = decodeShare(await feeds.cmd.send("GET", [shareKey(prefix, shareId)]));
        if (rec && !shareLive(rec, now))
          endShare(shareId, rec.revokedAt !== undefined ? "share revoked" : "share expired");
      } catch {}
    }
  }, 1_000);

  // ───────────────────────── WebSocket viewers ─────────────────────────

  const sendText = (ws: ServerWebSocket<SocketData>, text: string): void => {
    if (ws.data.closed) return;
    ws.send(text);
    if (ws.getBufferedAmount() > limits.maxBufferedBytes) {
      mSlow.inc();
      closeSocket(ws, 4008, "slow consumer");
    }
  };
  const sendFrame = (ws: ServerWebSocket<SocketData>, frame: ServerMessage) => {
    ws.data.batcher?.flush();
    sendText(ws, JSON.stringify(frame));
  };
  const closeSocket = (ws: ServerWebSocket<SocketData>, code: number, reason: string) => {
    if (ws.data.closed) return;
    ws.data.closed = true;
    ws.close(code, reason);
  };
  const deliverTo = (ws: ServerWebSocket<SocketData>, entries: readonly StreamEntry[]) => {
    for (const e of entries) {
      if (!eventVisibleAt(ws.data.level, e.event.type)) continue;
      if (ws.data.batcher) ws.data.batcher.push(`${e.event.conversationId}:${e.turnId}`, e);
      else sendText(ws, deltaText({ json: e.json, n: e.n }));
    }
  };
  const presenceFrame = (conversationId: string, online: boolean): string => {
    const watchers = byShareCount(conversationId);
    return JSON.stringify({
      type: "conversation.presence",
      conversationId,
      watchers,
      viewers: watchers,
      owner: online ? "online" : "offline",
    });
  };
  const watchersByConversation = new Map<string, number>();
  const byShareCount = (conversationId: string) => watchersByConversation.get(conversationId) ?? 0;

  const connectionEffects = (ws: ServerWebSocket<SocketData>): ConnectionEffects => ({
    setLevel(level, batchMs) {
      ws.data.level = level;
      ws.data.greeted = true;
      if (batchMs !== undefined && batchMs > 0)
        ws.data.batcher = new Batcher<StreamEntry>(batchMs, (items) =>
          sendText(ws, batchText(items.map((e) => ({ json: e.json, n: e.n })))),
        );
    },
    addSurface() {},
    removeSurface() {},
    subscriberSpec: async () => ({
      ok: false,
      error: { code: "FORBIDDEN", message: "no surfaces on a relay" },
    }),
    watch(conversationId, resume) {
      if (ws.data.watches.has(conversationId)) return;
      ws.data.watches.set(conversationId, () => {});
      watchersByConversation.set(conversationId, byShareCount(conversationId) + 1);
      feeds
        .watch(
          conversationId,
          {
            deliver: (entries) => deliverTo(ws, entries),
            presence: (online) => {
              if (ws.data.level >= 2) sendFrame(ws, JSON.parse(presenceFrame(conversationId, online)));
            },
          },
          resume,
        )
        .then(
          (stop) => {
            if (ws.data.closed || !ws.data.watches.has(conversationId)) return stop();
            ws.data.watches.set(conversationId, stop);
          },
          () => closeSocket(ws, 1011, "relay: Redis unavailable, reconnect and resume"),
        );
    },
    unwatch(conversationId) {
      const stop = ws.data.watches.get(conversationId);
      if (!stop) return;
      stop();
      ws.data.watches.delete(conversationId);
      watchersByConversation.set(conversationId, Math.max(0, byShareCount(conversationId) - 1));
    },
    watchChannel() {},
    unwatchChannel() {},
  });

  const onFrame = (ws: ServerWebSocket<SocketData>, raw: string | Buffer) => {
    const parsed = parseClientMessage(typeof raw === "string" ? raw : new Uint8Array(raw));
    if (!parsed.ok) {
      sendFrame(ws, parseFailureFrame(parsed));
      return;
    }
    const command = parsed.message as Command;
    const caller = viewerCaller(ws.data.share, ws.data.level, {
      greeted: ws.data.greeted,
      spoken: ws.data.spoken,
      conversations: new Set(ws.data.watches.keys()),
    });
    const decision = decide(command, caller, VIEW);
    if (command.type !== "hello") ws.data.spoken = true;
    const write = (r: Reply) => {
      for (const f of replyFrames(r)) sendFrame(ws, f);
    };
    for (const r of decision.replies) write(r);
    void runEffects(decision.effects, { ...NO_SERVICES, connection: connectionEffects(ws) }, write).catch(
      () => closeSocket(ws, 1011, "relay: internal error"),
    );
  };

  // ───────────────────────── HTTP ─────────────────────────

  const admit = async (req: Request, server: Server<SocketData>) => {
    const address = server.requestIP(req)?.address ?? "unknown";
    const verdict = await admission.check(req, address);
    if (!verdict.ok) mRefused.labels(verdict.code).inc();
    return { address, verdict };
  };
  const refuse = (v: Exclude<Awaited<ReturnType<Admission["check"]>>, Admitted>) =>
    errorResponse(
      v.status,
      v.code,
      v.message,
      v.retryAfterSec === undefined ? {} : { "Retry-After": String(v.retryAfterSec) },
    );

  const readRoute = async (
    share: Admitted,
    conversationId: string,
    path: string,
    url: URL,
  ): Promise<Response> => {
    if (path === "/conversations/{id}/status") {
      const meta = await feeds.meta(conversationId);
      return jsonResponse(200, {
        conversationId,
        isActive: meta?.isActive ?? false,
        status: meta?.status ?? "idle",
      });
    }
    const num = (name: string) => {
      const v = url.searchParams.get(name);
      if (v === null || v === "") return undefined;
      return /^\d{1,12}$/.test(v) ? Number(v) : Number.NaN;
    };
    const sinceSeq = num("sinceSeq");
    const beforeSeq = num("beforeSeq");
    const limit = num("limit");
    for (const [k, v] of Object.entries({ sinceSeq, beforeSeq, limit }))
      if (Number.isNaN(v))
        return errorResponse(400, "HTTP_INVALID_QUERY", `${k}: expected a non-negative integer`);
    const chunks = await feeds.chunks(conversationId, {
      ...(sinceSeq === undefined ? {} : { sinceSeq }),
      ...(beforeSeq === undefined ? {} : { beforeSeq }),
      ...(limit === undefined ? {} : { limit }),
    });
    void share;
    return jsonResponse(200, { chunks, latestSeq: chunks.at(-1)?.seq ?? sinceSeq ?? 0 });
  };

  const sse = (
    req: Request,
    share: Admitted,
    level: ProtocolLevel,
    conversationId: string,
    resume: ResumePoint | undefined,
    release: () => void,
  ): Response => {
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let done = false;
    let stopWatch: (() => void) | undefined;
    let detach: (() => void) | undefined;
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    const end = () => {
      if (done) return;
      done = true;
      stopWatch?.();
      detach?.();
      if (keepAlive) clearInterval(keepAlive);
      sseGauge.dec();
      release();
    };
    const write = (text: string) => {
      if (done) return;
      controller.enqueue(encoder.encode(text));
      if ((controller.desiredSize ?? 0) < -limits.maxBufferedBytes) {
        mSlow.inc();
        controller.error(new Error("slow consumer"));
        end();
      }
    };
    const stream = new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
        },
        cancel: end,
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    sseGauge.inc();
    write(sseRetry(1000));
    detach = attach(share.shareId, share.expiresAt, () => {
      if (done) return;
      controller.close();
      end();
    });
    feeds
      .watch(
        conversationId,
        {
          deliver: (entries) => {
            for (const e of entries)
              if (eventVisibleAt(level, e.event.type))
                write(
                  sseFrame(deltaText({ json: e.json, n: e.n }), formatEventId(conversationId, e.turnId, e.n)),
                );
          },
          presence: (online) => {
            if (level >= 2) write(sseFrame(presenceFrame(conversationId, online)));
          },
        },
        resume,
      )
      .then(
        (stop) => {
          if (done) stop();
          else stopWatch = stop;
        },
        () => {
          if (!done) controller.error(new Error("Redis unavailable"));
          end();
        },
      );
    keepAlive = setInterval(() => write(sseComment("keep-alive")), 15_000);
    req.signal.addEventListener("abort", end, { once: true });
    return new Response(stream, { headers: SSE_HEADERS });
  };

  const longPoll = async (
    share: Admitted,
    level: ProtocolLevel,
    conversationId: string,
    after: ResumePoint | undefined,
    waitMs: number,
  ): Promise<Response> => {
    const events: { event: StreamEntry["event"]; n: number }[] = [];
    let cursor = after;
    let wake: (() => void) | undefined;
    let ended: string | undefined;
    pollGauge.inc();
    const detach = attach(share.shareId, share.expiresAt, (_c, reason) => {
      ended = reason;
      wake?.();
    });
    let stop: (() => void) | undefined;
    try {
      stop = await feeds.watch(
        conversationId,
        {
          deliver: (entries) => {
            for (const e of entries) {
              cursor = { turnId: e.turnId, n: e.n };
              if (eventVisibleAt(level, e.event.type)) events.push({ event: e.event, n: e.n });
            }
            if (events.length > 0) queueMicrotask(() => wake?.());
          },
        },
        after,
      );
      if (events.length === 0 && ended === undefined)
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, waitMs);
        });
      if (ended !== undefined) return errorResponse(401, "SHARE_REVOKED", `this share ended (${ended})`);
      return jsonResponse(200, { events, cursor: cursor === undefined ? null : formatCursor(cursor) });
    } finally {
      stop?.();
      detach();
      pollGauge.dec();
    }
  };

  const fetch = async (req: Request, server: Server<SocketData>): Promise<Response | undefined> => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method === "GET" && path === "/health")
      return jsonResponse(200, { ok: true, version: RELAY_VERSION, relay: true, redis: feeds.up });
    if (req.method === "GET" && path === "/metrics")
      return new Response(metrics.render(), { headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE } });
    if (req.method === "GET" && /^\/s\/[A-Za-z0-9_-]{1,64}$/.test(path)) {
      const page = viewerPage();
      return new Response(page.html, { headers: page.headers });
    }
    if (req.method === "GET" && path.startsWith(VIEWER_ASSET_PREFIX)) {
      const a = viewerAsset(path.slice(VIEWER_ASSET_PREFIX.length));
      return a
        ? new Response(a.body, { headers: a.headers })
        : errorResponse(404, "HTTP_NOT_FOUND", `no asset ${path}`);
    }

    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const { address, verdict } = await admit(req, server);
      if (!verdict.ok) return refuse(verdict);
      const release = slots.acquire(address);
      if (!release)
        return errorResponse(
          429,
          "RELAY_TOO_MANY_CONNECTIONS",
          `too many connections from ${address} (at most ${limits.connectionsPerAddress})`,
        );
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
      const subprotocol = offered.find((p) => p.startsWith("dispatch.share.")) ?? "";
      const data: SocketData = {
        share: verdict,
        address,
        release,
        subprotocol,
        level: 1,
        greeted: false,
        spoken: false,
        watches: new Map(),
        batcher: undefined,
        closed: false,
      };
      const ok = server.upgrade(req, {
        data,
        ...(subprotocol === "" ? {} : { headers: { "Sec-WebSocket-Protocol": subprotocol } }),
      });
      if (ok) return undefined;
      release();
      return errorResponse(400, "HTTP_BAD_UPGRADE", "WebSocket upgrade failed");
    }

    const route = matchDaemonRoute(req.method, path);
    if (!route)
      return errorResponse(404, "HTTP_NOT_FOUND", `${req.method} ${path}: no such route on a relay`);
    const { address, verdict } = await admit(req, server);
    if (!verdict.ok) return refuse(verdict);
    const conversationId = route.params.id;
    const op = `${req.method} ${route.path}`;
    const denied = authorize(
      route.role,
      { kind: "viewer", conversationId: verdict.conversationId, shareId: verdict.shareId },
      op,
      conversationId,
    );
    if (denied) {
      mRefused.labels(denied.code).inc();
      return errorResponse(403, denied.code, denied.message);
    }
    const level = streamLevel(req, url);
    switch (route.path) {
      case "/conversations/{id}":
      case "/conversations/{id}/status":
        return readRoute(verdict, conversationId as string, route.path, url);
      case "/events": {
        const ch = parseChannel(url.searchParams.get("channel") ?? "");
        if (!ch.ok) return errorResponse(400, ch.error.code, ch.error.message);
        const target = ch.channel.kind === "conversation" ? ch.channel.conversationId : undefined;
        const chDenied = authorize(
          "conversation",
          { kind: "viewer", conversationId: verdict.conversationId, shareId: verdict.shareId },
          "GET /events",
          target,
        );
        if (chDenied || target === undefined)
          return errorResponse(
            403,
            "FORBIDDEN",
            chDenied?.message ?? "a share viewer watches its own conversation only",
          );
        let resume: ResumePoint | undefined;
        const last = req.headers.get("last-event-id");
        if (last) {
          const at = parseEventId(last);
          if (!at.ok) return errorResponse(400, at.error.code, at.error.message);
          if (at.value.conversationId === target) resume = at.value.resume;
        }
        const release = slots.acquire(address);
        if (!release)
          return errorResponse(429, "RELAY_TOO_MANY_CONNECTIONS", `too many connections from ${address}`);
        server.timeout(req, 0);
        return sse(req, verdict, level, target, resume, release);
      }
      case "/conversations/{id}/events": {
        const afterRaw = url.searchParams.get("after");
        let after: ResumePoint | undefined;
        if (afterRaw) {
          const c = parseCursor(afterRaw);
          if (!c.ok) return errorResponse(400, c.error.code, c.error.message);
          after = c.value;
        }
        const wait = parseWaitMs(url.searchParams.get("waitMs"));
        if (!wait.ok) return errorResponse(400, wait.error.code, wait.error.message);
        const release = slots.acquire(address);
        if (!release)
          return errorResponse(429, "RELAY_TOO_MANY_CONNECTIONS", `too many connections from ${address}`);
        server.timeout(req, 0);
        try {
          return await longPoll(verdict, level, conversationId as string, after, wait.value);
        } finally {
          release();
        }
      }
      default:
        // A route every caller may use on the daemon (documents): not served by a relay.
        return errorResponse(404, "HTTP_NOT_FOUND", `${op}: not served by a relay (viewer operations only)`);
    }
  };

  const server = Bun.serve<SocketData>({
    port: opts.port,
    hostname: opts.hostname ?? "127.0.0.1",
    fetch: (req, srv) =>
      fetch(req, srv).catch(() =>
        errorResponse(503, "RELAY_UNAVAILABLE", "the relay could not answer (Redis unavailable?)"),
      ),
    websocket: {
      maxPayloadLength: limits.maxFrameBytes,
      backpressureLimit: limits.maxBufferedBytes,
      open(ws) {
        wsGauge.inc();
        const d = ws.data;
        const detach = attach(d.share.shareId, d.share.expiresAt, (code, reason) =>
          closeSocket(ws, code, reason),
        );
        const release = d.release;
        d.release = () => {
          detach();
          release();
        };
        ws.send(JSON.stringify({ type: "catalog", catalog: [] }));
      },
      message: onFrame,
      close(ws) {
        wsGauge.dec();
        ws.data.closed = true;
        ws.data.batcher?.dispose();
        for (const id of [...ws.data.watches.keys()]) connectionEffects(ws).unwatch(id);
        ws.data.release();
      },
    },
  });
  await Promise.all([feeds.ready().catch(() => {}), notices.ready().catch(() => {})]);
  const port = server.port as number;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      clearInterval(sweep);
      for (const id of [...byShare.keys()]) {
        for (const v of byShare.get(id) ?? []) v.close(1001, "relay shutting down");
      }
      await server.stop(true);
      notices.close();
      feeds.stop();
    },
  };
}

export { redactUrl };
