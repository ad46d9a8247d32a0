/**
 * Who receives what, and the checked sending (I/O; used by the shell in server.ts).
 *
 * - Conversations: this class is the one registry of who watches what (`conversationsOf` answers
 *   per socket; ws.data holds no copy). The transport subscribes to a conversation's hub (the only
 *   source of its events) while someone watches it, and disposes that subscription with the last
 *   watcher. Each event is serialized once per level and published to `conv:<id>` with Bun's native
 *   pub/sub; a joining socket is replayed the running turn and subscribed in the same synchronous
 *   tick, so nothing is lost or duplicated. Watcher counts drive `conversation.presence`.
 * - Surfaces: one topic per (surfaceId, conversationId); a change fetches the spec once and publishes
 *   one `update`; changes during a fetch coalesce into one more fetch.
 * - Global: catalog and conversation broadcasts go to one topic every connection joins.
 * - Levels: every topic exists once per protocol level (leveled.ts). A frame is serialized at most
 *   once, and published only to the levels `visibleAt` lets see it; replays are filtered the same way.
 *
 * Backpressure: every send and publish result is checked. A connection whose unsent output passes the
 * cap is closed with 4008. Per event nothing loops over watchers in JavaScript, except to find the
 * slow consumers after Bun reported backpressure or a drop.
 */
import type { Logger } from "@dispatch/kernel";
import type { Caller, Role, SurfaceTarget } from "@dispatch/operations";
import { eventVisibleAt, type ProtocolLevel, visibleAt } from "@dispatch/protocol";
import type { AgentEvent, ResumePoint, ServerMessage, SurfaceSpec } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator/contract";
import type { SurfaceContext, SurfaceRegistry } from "@dispatch/surface-registry/contract";
import type { ServerWebSocket } from "bun";
import { CloseCodes } from "./contract";
import { LeveledSet, levelTopic } from "./leveled";
import type { RateState } from "./rate-limit";
import type { OpResult } from "./replies";
import { deltaFrame, presenceFrame, updateFrame } from "./replies";

/** Per-connection state (`ws.data`); with `conversationsOf` it is the operations core's Caller. */
export interface ConnData extends Omit<Caller, "conversations"> {
  readonly connected: true;
  id: number;
  /** Owner, or a share viewer of one conversation (fixed at the upgrade). */
  readonly role: Role;
  authenticated: boolean;
  /** False once closed (Bun runs `close` synchronously inside `ws.close`). */
  open: boolean;
  rate: RateState;
  level: ProtocolLevel;
  greeted: boolean;
  spoken: boolean;
  readonly surfaces: Set<string>;
}
export type Socket = ServerWebSocket<ConnData>;

export interface FanoutDeps {
  /** `server.publish(topic, text, false)`: Bun's status (bytes, -1 backpressure, 0 dropped or nobody). */
  publish(topic: string, text: string): number;
  /** Unsent bytes per connection before it is closed as a slow consumer. */
  cap: number;
  logger: Logger;
  orchestrator: Pick<Orchestrator, "replay" | "subscribe">;
  registry: Pick<SurfaceRegistry, "getSpec">;
}

/** The subscribers of one (surfaceId, conversationId) and the state of its spec refresh. */
interface SurfaceEntry {
  target: SurfaceTarget;
  topic: string;
  sockets: LeveledSet<Socket>;
  fetching: boolean;
  dirty: boolean;
  /** Spec fetches started for this entry (refreshes and subscribers' own), in order. */
  fetches: number;
  /** The newest published `update`: the number of its fetch and its spec. */
  published?: { fetch: number; spec: SurfaceSpec };
}

const GLOBAL_TOPIC = "global";
/** What a share viewer is told of the surfaces: none (it may subscribe none). */
const VIEWER_CATALOG = JSON.stringify({ type: "catalog", catalog: [] } satisfies ServerMessage);
const convTopic = (conversationId: string) => `conv:${conversationId}`;
const surfaceTopic = (key: string) => `surface:${key}`;

function surfaceCtx(target: SurfaceTarget): SurfaceContext | undefined {
  return target.conversationId === undefined ? undefined : { conversationId: target.conversationId };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

export class Fanout {
  /** Every open connection. */
  readonly sockets = new Set<Socket>();
  private readonly everyone = new LeveledSet<Socket>();
  /** Conversation → its watchers and the hub subscription held while it has any. */
  private readonly watchers = new Map<string, { sockets: LeveledSet<Socket>; dispose: () => void }>();
  /** The same facts by socket (the reverse index, kept in step by watch/unwatch only). */
  private readonly watching = new Map<Socket, Set<string>>();
  /** Subscription key → its subscribers (few: one per surface and watched conversation). */
  private readonly surfaces = new Map<string, SurfaceEntry>();

  constructor(private readonly deps: FanoutDeps) {}

  // ───────────── sending ─────────────

  closeSlow(ws: Socket): void {
    if (!ws.data.open) return;
    const bufferedBytes = ws.getBufferedAmount();
    this.deps.logger.warn("closing slow consumer", { conn: ws.data.id, bufferedBytes, cap: this.deps.cap });
    ws.close(CloseCodes.slowConsumer, "slow consumer");
  }

  /** Sends one text frame; false (and the connection closed with 4008) when it is over the cap. */
  sendText(ws: Socket, text: string): boolean {
    if (!ws.data.open) return false;
    const status = ws.send(text, false);
    if (status === 0 || (status === -1 && ws.getBufferedAmount() > this.deps.cap)) {
      this.closeSlow(ws);
      return false;
    }
    return true;
  }

  /** Replies to the connection's own messages (see @dispatch/protocol/levels: asked-for replies). */
  sendFrames(ws: Socket, frames: readonly ServerMessage[]): void {
    for (const f of frames) if (!this.sendText(ws, JSON.stringify(f))) return;
  }

  /**
   * Publishes `frame` to the levels of `subscribers` that may see it, serialized at most once (`text`
   * when the caller already has it). When Bun reports backpressure or a drop, closes the subscribers of
   * that level over the cap. Levels nobody is on are skipped.
   */
  private publish(base: string, frame: ServerMessage, subscribers: LeveledSet<Socket>, text?: string): void {
    let serialized = text;
    for (const [level, set] of [...subscribers.levels()]) {
      if (!visibleAt(level, frame)) continue;
      serialized ??= JSON.stringify(frame);
      if (this.deps.publish(levelTopic(base, level), serialized) > 0) continue;
      for (const ws of [...set]) {
        if (ws.data.open && ws.getBufferedAmount() > this.deps.cap) this.closeSlow(ws);
      }
    }
  }

  /** Sends `frame` (already serialized as `text`, when given) to every connection that may see it. */
  broadcast(frame: ServerMessage, text?: string): void {
    this.publish(GLOBAL_TOPIC, frame, this.everyone, text);
  }

  /**
   * A new connection: joins the global topic and gets `first` (the catalog). A share viewer joins
   * nothing global (broadcasts name other conversations) and gets an empty catalog: it may subscribe
   * no surface.
   */
  open(ws: Socket, first: string): void {
    ws.data.open = true;
    this.sockets.add(ws);
    if (ws.data.role.kind === "viewer") {
      this.sendText(ws, VIEWER_CATALOG);
      return;
    }
    this.everyone.add(ws);
    ws.subscribe(levelTopic(GLOBAL_TOPIC, ws.data.level));
    this.sendText(ws, first);
  }

  /** The connection now speaks `level` (after `hello`): every topic it is on moves to that level. */
  setLevel(ws: Socket, level: ProtocolLevel): void {
    const old = ws.data.level;
    if (old === level) return;
    const moves: [string, LeveledSet<Socket>][] =
      ws.data.role.kind === "viewer" ? [] : [[GLOBAL_TOPIC, this.everyone]];
    for (const cid of this.conversationsOf(ws)) {
      const w = this.watchers.get(cid);
      if (w) moves.push([convTopic(cid), w.sockets]);
    }
    for (const key of ws.data.surfaces) {
      const entry = this.surfaces.get(key);
      if (entry) moves.push([entry.topic, entry.sockets]);
    }
    for (const [base, set] of moves) {
      set.delete(ws, old);
      if (ws.data.open) ws.unsubscribe(levelTopic(base, old));
    }
    ws.data.level = level;
    for (const [base, set] of moves) {
      set.add(ws);
      if (ws.data.open) ws.subscribe(levelTopic(base, level));
    }
  }

  /** A closed connection: every subscription it held is disposed; turns keep running. */
  drop(ws: Socket): void {
    ws.data.open = false;
    this.sockets.delete(ws);
    this.everyone.delete(ws);
    for (const cid of [...this.conversationsOf(ws)]) this.unwatch(ws, cid);
    for (const key of [...ws.data.surfaces]) this.removeSurface(ws, key);
  }

  // ───────────── conversations ─────────────

  private static readonly none: ReadonlySet<string> = new Set();

  /** The conversations `ws` watches. */
  conversationsOf(ws: Socket): ReadonlySet<string> {
    return this.watching.get(ws) ?? Fanout.none;
  }

  /** A live event of a conversation (from its hub): serialized once per level, published once. */
  event(conversationId: string, event: AgentEvent, n: number | undefined): void {
    const w = this.watchers.get(conversationId);
    if (w === undefined) return;
    this.publish(convTopic(conversationId), deltaFrame(event, n), w.sockets);
  }

  private presence(conversationId: string): void {
    const w = this.watchers.get(conversationId);
    if (w === undefined) return;
    this.publish(convTopic(conversationId), presenceFrame(conversationId, w.sockets.size), w.sockets);
  }

  /**
   * The watcher entry of a conversation; the first one subscribes to its hub. That subscription's own
   * replay reaches nobody (no socket is on the topic yet): each socket gets its replay in `watch`.
   */
  private entry(conversationId: string) {
    let w = this.watchers.get(conversationId);
    if (w !== undefined) return w;
    const entry = { sockets: new LeveledSet<Socket>(), dispose: () => {} };
    this.watchers.set(conversationId, entry);
    entry.dispose = this.deps.orchestrator.subscribe(conversationId, (event, n) => {
      try {
        this.event(conversationId, event, n);
      } catch (err) {
        this.deps.logger.error("event fan-out failed", { code: "WS_INTERNAL_ERROR", error: errorText(err) });
      }
    });
    w = entry;
    return w;
  }

  /** Forgets an entry nobody watches any more, and its hub subscription. */
  private release(conversationId: string): void {
    const w = this.watchers.get(conversationId);
    if (w === undefined || w.sockets.size > 0) return;
    this.watchers.delete(conversationId);
    w.dispose();
  }

  /**
   * Replays to this socket then joins the topic in the same synchronous tick: no event can be
   * published in between, so nothing is lost or duplicated. Pending permission requests come with
   * the replay (the orchestrator adds those the replay lacks).
   */
  watch(ws: Socket, conversationId: string, resume?: ResumePoint): void {
    const w = this.entry(conversationId);
    for (const e of this.deps.orchestrator.replay(conversationId, resume)) {
      if (!eventVisibleAt(ws.data.level, e.event.type)) continue;
      if (!this.sendText(ws, JSON.stringify(deltaFrame(e.event, e.n)))) break;
    }
    if (!ws.data.open) {
      this.release(conversationId);
      return;
    }
    ws.subscribe(levelTopic(convTopic(conversationId), ws.data.level));
    let mine = this.watching.get(ws);
    if (mine === undefined) {
      mine = new Set();
      this.watching.set(ws, mine);
    }
    mine.add(conversationId);
    w.sockets.add(ws);
    this.presence(conversationId);
  }

  unwatch(ws: Socket, conversationId: string): void {
    if (ws.data.open) ws.unsubscribe(levelTopic(convTopic(conversationId), ws.data.level));
    const mine = this.watching.get(ws);
    mine?.delete(conversationId);
    if (mine?.size === 0) this.watching.delete(ws);
    const w = this.watchers.get(conversationId);
    if (w === undefined) return;
    w.sockets.delete(ws);
    if (w.sockets.size === 0) this.release(conversationId);
    else this.presence(conversationId);
  }

  // ───────────── surfaces ─────────────

  addSurface(ws: Socket, target: SurfaceTarget): void {
    let entry = this.surfaces.get(target.key);
    if (entry === undefined) {
      entry = {
        target,
        topic: surfaceTopic(target.key),
        sockets: new LeveledSet(),
        fetching: false,
        dirty: false,
        fetches: 0,
      };
      this.surfaces.set(target.key, entry);
    }
    entry.sockets.add(ws);
    ws.data.surfaces.add(target.key);
    ws.subscribe(levelTopic(entry.topic, ws.data.level));
  }

  removeSurface(ws: Socket, key: string): void {
    ws.data.surfaces.delete(key);
    const entry = this.surfaces.get(key);
    if (entry === undefined) return;
    if (ws.data.open) ws.unsubscribe(levelTopic(entry.topic, ws.data.level));
    entry.sockets.delete(ws);
    if (entry.sockets.size === 0) this.surfaces.delete(key);
  }

  /**
   * The spec a (new or repeated) subscriber gets as `surface`. The socket is already on the topic, so
   * an `update` from a fetch started after this one may overtake it (async providers); then that newer
   * spec is answered instead, never an older one after a newer.
   */
  async subscriberSpec(target: SurfaceTarget): Promise<OpResult<SurfaceSpec>> {
    const entry = this.surfaces.get(target.key);
    const fetch = entry === undefined ? 0 : ++entry.fetches;
    const r = await this.deps.registry.getSpec(target.surfaceId, surfaceCtx(target));
    const newer = entry?.published;
    if (r.ok && newer !== undefined && newer.fetch > fetch) return { ok: true, value: newer.spec };
    return r;
  }

  /** The registry says a spec may have changed (all of `surfaceId`'s, or one conversation's). */
  specChanged(surfaceId: string, ctx?: SurfaceContext): void {
    const only = ctx?.conversationId;
    for (const entry of this.surfaces.values()) {
      if (entry.target.surfaceId !== surfaceId) continue;
      // A conversation-scoped surface subscribed without a conversation is its global view (every
      // conversation): it changes with each of them.
      const one = entry.target.scope === "conversation" ? entry.target.conversationId : undefined;
      if (only !== undefined && one !== undefined && one !== only) continue;
      this.refresh(entry).catch((err: unknown) =>
        this.deps.logger.error("surface refresh threw", { code: "WS_INTERNAL_ERROR", error: errorText(err) }),
      );
    }
  }

  private async refresh(entry: SurfaceEntry): Promise<void> {
    if (entry.fetching) {
      entry.dirty = true;
      return;
    }
    entry.fetching = true;
    try {
      do {
        entry.dirty = false;
        const fetch = ++entry.fetches;
        const r = await this.deps.registry.getSpec(entry.target.surfaceId, surfaceCtx(entry.target));
        if (entry.sockets.size === 0) break;
        if (r.ok) {
          entry.published = { fetch, spec: r.value };
          this.publish(entry.topic, updateFrame(entry.target, r.value), entry.sockets);
        } else
          this.deps.logger.warn("surface refresh failed", {
            surfaceId: entry.target.surfaceId,
            code: r.error.code,
          });
      } while (entry.dirty);
    } finally {
      entry.fetching = false;
    }
  }
}
