/**
 * The daemon side of the relay: publishes every event of each shared conversation, its history,
 * status and the owner's heartbeat, and the share records, to Redis (layout: `@dispatch/relay-streams`).
 *
 * Guarantees:
 * - A local turn never waits for Redis: the orchestrator's listener only appends to a bounded buffer
 *   (O(1), nothing serialized); one flush loop drains it. When the buffer is full the op is dropped
 *   and counted (`dispatch_relay_publish_dropped_total`), and the conversation is marked for a resync.
 * - Share changes (a revocation above all) go first, ahead of any event backlog, and are announced
 *   on the shares channel so every relay closes the share's viewers within a second.
 * - Convergence: after every (re)connect and after drops, each shared conversation is resynced —
 *   share records, status, history, and the running turn republished from the orchestrator's replay
 *   with the same stream ids, which Redis refuses when it still has them (no duplicates) and accepts
 *   when it lost them (no gap).
 * - Only conversations with a live share are published; the owner heartbeat stops with the daemon
 *   (`stop()` deletes it, a crash lets its TTL run out), which relays show viewers as "owner offline".
 */
import type { Disposer, Logger } from "@dispatch/kernel";
import type { MetricsRegistry } from "@dispatch/metrics/contract";
import type { AgentEvent, ConversationStatus, StoredChunk } from "@dispatch/protocol/types";
import {
  chunkMembers,
  conversationKeys,
  DEFAULT_PREFIX,
  entryFields,
  eventStreamId,
  HEARTBEAT_MS,
  isStaleIdError,
  metaFields,
  PRESENCE_TTL_MS,
  parseStreamId,
  RedisLink,
  redactUrl,
  type ShareRecord,
  shareKey,
  sharesChannel,
} from "@dispatch/relay-streams";

/** A share as the daemon's share store keeps it (never the secret: its SHA-256). */
export type PublishedShare = ShareRecord;

/** Where the publisher learns which conversations are shared. */
export interface ShareSource {
  /** Every share not yet expired (revoked ones included, so relays learn of the revocation). */
  list(): PublishedShare[];
  /** A share was created or revoked. */
  onChange(listener: (share: PublishedShare) => void): Disposer;
}

/** What the publisher asks of the daemon (the orchestrator and the log, by their contracts). */
export interface PublisherSources {
  /**
   * Watch one conversation (the orchestrator's `subscribe`): its running turn is replayed first,
   * synchronously, then live events follow. Only conversations with a live share are watched.
   */
  subscribe(conversationId: string, listener: (event: AgentEvent, n: number | undefined) => void): Disposer;
  replay(conversationId: string): { event: AgentEvent; n?: number }[];
  status(conversationId: string): { isActive: boolean; status: ConversationStatus } | undefined;
  workspaceOf?(conversationId: string): string | undefined;
  /** The newest `limit` chunks after `sinceSeq`, ascending. */
  chunks(conversationId: string, sinceSeq: number, limit: number): StoredChunk[];
  shares: ShareSource;
}

export interface PublisherConfig {
  redis: string;
  prefix?: string;
  /** `XADD … MAXLEN ~ streamMaxLen` per conversation. */
  streamMaxLen?: number;
  /** History chunks kept per conversation. */
  historyMax?: number;
  /** Ops waiting for Redis at most; more are dropped (and counted). */
  bufferMax?: number;
}

type Op =
  | { kind: "event"; conversationId: string; turnId: string; n: number; event: AgentEvent }
  | { kind: "sealed"; conversationId: string }
  | { kind: "meta"; conversationId: string };

interface TurnClock {
  turnId: string;
  turnMs: number;
}

export interface Publisher {
  /** Resolves once connected the first time (or after `timeoutMs`, still running, retrying). */
  ready(timeoutMs?: number): Promise<boolean>;
  readonly up: boolean;
  /** Ops waiting. */
  readonly buffered: number;
  /** Resolves when nothing waits (tests, benchmarks). */
  drained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const BATCH = 256;

export function startPublisher(
  config: PublisherConfig,
  src: PublisherSources,
  deps: {
    logger: Logger;
    metrics?: MetricsRegistry;
    now?: () => number;
  },
): Publisher {
  const prefix = config.prefix ?? DEFAULT_PREFIX;
  const maxLen = String(config.streamMaxLen ?? 10_000);
  const historyMax = config.historyMax ?? 2_000;
  const bufferMax = config.bufferMax ?? 10_000;
  const now = deps.now ?? Date.now;
  const log = deps.logger;

  const m = deps.metrics;
  const dropped = m?.counter({
    name: "dispatch_relay_publish_dropped_total",
    help: "Relay publish ops dropped because the buffer was full (Redis down or slow)",
  });
  const published = m?.counter({
    name: "dispatch_relay_publish_events_total",
    help: "Events published to Redis for relays",
  });
  const failures = m?.counter({
    name: "dispatch_relay_publish_errors_total",
    help: "Redis commands of the publisher that failed",
  });
  const resyncs = m?.counter({
    name: "dispatch_relay_publish_resyncs_total",
    help: "Shared conversations resynced to Redis (reconnects, drops)",
  });
  const bufferGauge = m?.gauge({
    name: "dispatch_relay_publish_buffered",
    help: "Publish ops waiting for Redis",
  });
  const upGauge = m?.gauge({
    name: "dispatch_relay_redis_up",
    help: "1 while the relay publisher is connected to Redis",
  });

  /** conversationId → its live shares' ids. */
  const shared = new Map<string, Set<string>>();
  /** conversationId → the orchestrator subscription of a shared conversation. */
  const watching = new Map<string, Disposer>();
  const clocks = new Map<string, TurnClock>();
  const lastTurnMs = new Map<string, number>();
  const historySeq = new Map<string, number>();
  const priority: PublishedShare[] = [];
  let ops: Op[] = [];
  const dirty = new Set<string>();
  let flushing = false;
  let stopped = false;
  let everUp = false;

  const link = new RedisLink({
    url: config.redis,
    name: "relay publisher",
    onUp: () => {
      upGauge?.set(1);
      if (everUp)
        log.info("relay: Redis is back; resyncing shared conversations", { redis: redactUrl(config.redis) });
      everUp = true;
      for (const id of shared.keys()) dirty.add(id);
      resyncSharesPending = true;
      kick();
    },
    onDown: (reason) => {
      upGauge?.set(0);
      log.warn("relay: Redis connection lost; local turns go on, publishing resumes when it is back", {
        reason,
      });
    },
  });
  let resyncSharesPending = false;

  const liveNow = (s: PublishedShare) => s.revokedAt === undefined && s.expiresAt > now();
  const track = (s: PublishedShare) => {
    const set = shared.get(s.conversationId) ?? new Set<string>();
    const had = set.size > 0;
    if (liveNow(s)) set.add(s.shareId);
    else set.delete(s.shareId);
    if (set.size > 0) shared.set(s.conversationId, set);
    else shared.delete(s.conversationId);
    if (!had && set.size > 0) {
      dirty.add(s.conversationId);
      watching.set(
        s.conversationId,
        src.subscribe(s.conversationId, (e, n) => onEvent(s.conversationId, e, n)),
      );
    }
    if (had && set.size === 0) {
      void watching.get(s.conversationId)?.();
      watching.delete(s.conversationId);
    }
  };

  const push = (op: Op) => {
    if (ops.length >= bufferMax) {
      dropped?.inc();
      dirty.add(op.conversationId);
      return;
    }
    ops.push(op);
    bufferGauge?.set(ops.length);
    kick();
  };

  function onEvent(conversationId: string, event: AgentEvent, n: number | undefined): void {
    if (!shared.has(conversationId)) return;
    if (n === undefined || !("turnId" in event)) {
      if (event.type === "status") push({ kind: "meta", conversationId });
      return;
    }
    clockFor(conversationId, event.turnId);
    push({ kind: "event", conversationId, turnId: event.turnId, n, event });
    if (event.type === "turn-start") push({ kind: "meta", conversationId });
    if (event.type === "turn-sealed") push({ kind: "sealed", conversationId });
  }
  const offShares = src.shares.onChange((s) => {
    track(s);
    priority.push(s);
    kick();
  });

  function clockFor(conversationId: string, turnId: string): TurnClock {
    const c = clocks.get(conversationId);
    if (c && c.turnId === turnId) return c;
    const turnMs = Math.max(now(), (lastTurnMs.get(conversationId) ?? 0) + 1);
    lastTurnMs.set(conversationId, turnMs);
    const clock = { turnId, turnMs };
    clocks.set(conversationId, clock);
    return clock;
  }

  const heartbeat = setInterval(() => {
    if (!link.up) return;
    for (const id of shared.keys()) {
      link
        .send("SET", [conversationKeys(prefix, id).owner, "1", "PX", String(PRESENCE_TTL_MS)])
        .catch(() => failures?.inc());
    }
  }, HEARTBEAT_MS);

  function kick(): void {
    if (!flushing && !stopped) void flush();
  }

  const send = (cmd: string, args: string[]): Promise<unknown> =>
    link.send(cmd, args).catch((e) => {
      if (isStaleIdError(e)) return "stale";
      failures?.inc();
      throw e;
    });

  function shareCommands(s: PublishedShare): Promise<unknown>[] {
    const record: ShareRecord = {
      shareId: s.shareId,
      conversationId: s.conversationId,
      secretHash: s.secretHash,
      createdAt: s.createdAt,
      expiresAt: s.expiresAt,
      ...(s.revokedAt === undefined ? {} : { revokedAt: s.revokedAt }),
    };
    const key = shareKey(prefix, s.shareId);
    const out = [
      send("SET", [key, JSON.stringify(record), "PXAT", String(Math.max(s.expiresAt, now() + 1))]),
    ];
    if (s.revokedAt !== undefined)
      out.push(
        send("PUBLISH", [
          sharesChannel(prefix),
          JSON.stringify({ shareId: s.shareId, conversationId: s.conversationId, revoked: true }),
        ]),
      );
    return out;
  }

  function eventCommand(op: Extract<Op, { kind: "event" }>): Promise<unknown> {
    const clock = clocks.get(op.conversationId);
    const turnMs = clock && clock.turnId === op.turnId ? clock.turnMs : undefined;
    if (turnMs === undefined) return Promise.resolve("stale"); // an older turn: its events are in the history
    const keys = conversationKeys(prefix, op.conversationId);
    const id = eventStreamId(turnMs, op.n);
    const writes: Promise<unknown>[] = [];
    if (op.n === 1) writes.push(send("HSET", [keys.turns, op.turnId, String(turnMs)]));
    writes.push(
      send("XADD", [keys.events, "MAXLEN", "~", maxLen, id, ...entryFields(op.turnId, op.n, op.event)]).then(
        (r) => {
          if (r === "stale" && op.n === 1) return realign(op.conversationId, op.turnId);
          if (r !== "stale") published?.inc();
          return r;
        },
      ),
    );
    return Promise.all(writes);
  }

  /** The stream already holds ids past this turn's start (clock skew, another process): move after them. */
  async function realign(conversationId: string, turnId: string): Promise<void> {
    const keys = conversationKeys(prefix, conversationId);
    const top = (await link.send("XREVRANGE", [keys.events, "+", "-", "COUNT", "1"])) as [string, string[]][];
    const topId = top?.[0]?.[0];
    const topTurn = top?.[0]?.[1]?.[1];
    const parsed = topId === undefined ? undefined : parseStreamId(topId);
    if (!parsed || topTurn === turnId) return;
    const clock = clocks.get(conversationId);
    if (!clock || clock.turnId !== turnId) return;
    clock.turnMs = parsed.ms + 1;
    lastTurnMs.set(conversationId, clock.turnMs);
    dirty.add(conversationId);
  }

  function metaCommand(conversationId: string): Promise<unknown> {
    const st = src.status(conversationId);
    if (!st) return Promise.resolve();
    const ws = src.workspaceOf?.(conversationId);
    return send("HSET", [
      conversationKeys(prefix, conversationId).meta,
      ...metaFields({
        status: st.status,
        isActive: st.isActive,
        ...(ws === undefined ? {} : { workspaceId: ws }),
      }),
    ]);
  }

  function historyCommands(conversationId: string, full: boolean): Promise<unknown>[] {
    const keys = conversationKeys(prefix, conversationId);
    const since = full ? 0 : (historySeq.get(conversationId) ?? 0);
    const chunks = src.chunks(conversationId, since, historyMax);
    const out: Promise<unknown>[] = [];
    if (chunks.length > 0) {
      historySeq.set(conversationId, (chunks.at(-1) as StoredChunk).seq);
      out.push(send("ZADD", [keys.chunks, ...chunkMembers(chunks)]));
      out.push(send("ZREMRANGEBYRANK", [keys.chunks, "0", String(-(historyMax + 1))]));
    }
    return out;
  }

  /** Everything a relay needs of one conversation, from the daemon's current state. */
  function resyncCommands(conversationId: string): Promise<unknown>[] {
    resyncs?.inc();
    const keys = conversationKeys(prefix, conversationId);
    const out: Promise<unknown>[] = [
      metaCommand(conversationId),
      send("SET", [keys.owner, "1", "PX", String(PRESENCE_TTL_MS)]),
      ...historyCommands(conversationId, true),
    ];
    for (const entry of src.replay(conversationId)) {
      if (entry.n === undefined || !("turnId" in entry.event)) continue;
      clockFor(conversationId, entry.event.turnId);
      out.push(
        eventCommand({
          kind: "event",
          conversationId,
          turnId: entry.event.turnId,
          n: entry.n,
          event: entry.event,
        }),
      );
    }
    return out;
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (!stopped && link.up) {
        const batch: Promise<unknown>[] = [];
        if (resyncSharesPending) {
          resyncSharesPending = false;
          for (const s of src.shares.list()) batch.push(...shareCommands(s));
        }
        while (priority.length > 0) batch.push(...shareCommands(priority.shift() as PublishedShare));
        for (const id of [...dirty]) {
          dirty.delete(id);
          if (shared.has(id)) batch.push(...resyncCommands(id));
        }
        const take = ops.length <= BATCH ? ops : ops.slice(0, BATCH);
        ops = ops.length <= BATCH ? [] : ops.slice(BATCH);
        bufferGauge?.set(ops.length);
        for (const op of take) {
          if (!shared.has(op.conversationId)) continue;
          if (op.kind === "event") batch.push(eventCommand(op));
          else if (op.kind === "meta") batch.push(metaCommand(op.conversationId));
          else batch.push(metaCommand(op.conversationId), ...historyCommands(op.conversationId, false));
        }
        if (batch.length === 0) break;
        const results = await Promise.allSettled(batch);
        if (results.some((r) => r.status === "rejected") && !link.up) {
          // Lost mid-batch: what it carried is republished by the resync when Redis is back.
          break;
        }
      }
    } finally {
      flushing = false;
      for (const w of drainWaiters.splice(0)) w();
    }
    if (!stopped && link.up && (ops.length > 0 || priority.length > 0 || dirty.size > 0)) kick();
  }
  const drainWaiters: (() => void)[] = [];
  // Last: watching a conversation replays its running turn at once, through everything above.
  for (const s of src.shares.list()) track(s);

  return {
    async ready(timeoutMs = 5_000) {
      try {
        await link.ready(timeoutMs);
        return true;
      } catch {
        return false;
      }
    },
    get up() {
      return link.up;
    },
    get buffered() {
      return ops.length;
    },
    async drained(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (flushing || ops.length > 0 || priority.length > 0 || dirty.size > 0 || resyncSharesPending) {
        if (Date.now() > deadline)
          throw new Error(
            `relay publisher: not drained after ${timeoutMs} ms (${ops.length} ops waiting, Redis up: ${link.up})`,
          );
        if (flushing) await new Promise<void>((r) => drainWaiters.push(r));
        else await Bun.sleep(5);
      }
    },
    async stop() {
      if (stopped) return;
      offShares();
      for (const off of watching.values()) void off();
      watching.clear();
      clearInterval(heartbeat);
      // Say "owner offline" at once rather than when the heartbeat's TTL runs out.
      if (link.up) {
        await Promise.allSettled(
          [...shared.keys()].map((id) => link.send("DEL", [conversationKeys(prefix, id).owner])),
        );
      }
      stopped = true;
      link.close();
      upGauge?.set(0);
    },
  };
}
