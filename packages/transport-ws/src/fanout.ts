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
 * - Channels (`conversation:*`, `workspace:<id>:*`): wildcard watchers get their events from the same
 *   hub subscriptions. While any wildcard channel is watched, the fan-out also holds the hub of every
 *   conversation with a running turn (`turnStarted` taps a new turn from its first event,
 *   `turnSettled` lets go). Wildcard watchers are few, so they are written to in a loop — with the
 *   text the event was serialized into once for everybody. A socket that also watches a conversation
 *   directly gets its events once (the direct way).
 * - Batching (`batchMs` in hello): such a socket's turn events go through its Batcher and leave as
 *   `chat.batch` frames built from the same one serialization; anything else sent to it flushes first.
 *
 * Backpressure: every send and publish result is checked. A connection whose unsent output passes the
 * cap is closed with 4008. Per event nothing loops over watchers in JavaScript, except to find the
 * slow consumers after Bun reported backpressure or a drop.
 */
import {
  Batcher,
  batchText,
  channelMatches,
  deltaFrame,
  deltaText,
  type SerializedEvent,
  serializeEvent,
} from "@dispatch/event-streams";
import type { Logger } from "@dispatch/kernel";
import type { Caller, Role, SurfaceTarget, WildcardChannel } from "@dispatch/operations";
import { eventVisibleAt, type ProtocolLevel, visibleAt } from "@dispatch/protocol";
import type { AgentEvent, ResumePoint, ServerMessage, SurfaceSpec } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator/contract";
import type { SurfaceContext, SurfaceRegistry } from "@dispatch/surface-registry/contract";
import type { ServerWebSocket } from "bun";
import { CloseCodes } from "./contract";
import { LeveledSet, levelTopic } from "./leveled";
import type { RateState } from "./rate-limit";
import type { OpResult } from "./replies";
import { presenceFrame, updateFrame } from "./replies";

/** Per-connection state (`ws.data`); with `conversationsOf` it is the operations core's Caller. */
export interface ConnData extends Omit<Caller, "conversations"> {
  readonly connected: true;
  id: number;
  /** Owner, or a share viewer of one conversation (fixed at the upgrade). */
  readonly role: Role;
  /** A viewer's registration with the share service, undone when it closes. */
  detach?: () => void;
  authenticated: boolean;
  /** False once closed (Bun runs `close` synchronously inside `ws.close`). */
  open: boolean;
  rate: RateState;
  level: ProtocolLevel;
  greeted: boolean;
  spoken: boolean;
  readonly surfaces: Set<string>;
  /** Keys of the wildcard channels it watches (the fan-out's `channels` holds the patterns). */
  readonly channels: Set<string>;
  /** Present when its `hello` asked for `batchMs`: its turn events leave as `chat.batch`. */
  batch?: Batcher<SerializedEvent>;
}
export type Socket = ServerWebSocket<ConnData>;

export interface FanoutDeps {
  /** `server.publish(topic, text, compress)`: Bun's status (bytes, -1 backpressure, 0 dropped or nobody). */
  publish(topic: string, text: string): number;
  /**
   * Ask Bun to deflate what is sent (compression not "off"). Only connections that negotiated
   * permessage-deflate at the upgrade get compressed frames; the others get them as they are.
   */
  compress?: boolean;
  /** Unsent bytes per connection before it is closed as a slow consumer. */
  cap: number;
  logger: Logger;
  orchestrator: Pick<Orchestrator, "replay" | "subscribe" | "runningConversations" | "runningTurn">;
  /** The workspace of a conversation (for `workspace:<id>:*`); undefined when unknown. */
  workspaceOf?: (conversationId: string) => string | undefined;
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

/** A watched (or held) conversation: its direct watchers and the hub subscription. */
interface WatchEntry {
  sockets: LeveledSet<Socket>;
  /** How many of the sockets are share viewers (for presence). */
  viewers: number;
  dispose: () => void;
  /** Held for the wildcard channels while its turn runs (see `turnStarted`). */
  held: boolean;
  /** The batching sockets among `sockets` (all level 2): they are on no topic, `event` feeds them. */
  batched: Set<Socket>;
  /** The conversation's topic per level (built once, not per event). */
  topics: Record<ProtocolLevel, string>;
}

/**
 * One event being delivered, serialized at most once per form: `s` (its JSON, for batches) and
 * `delta` (its chat.delta frame) are made on first use; a delta-only delivery stringifies once.
 */
interface OneEvent {
  event: AgentEvent;
  n: number | undefined;
  s?: SerializedEvent;
  delta?: string;
}

function serializedOf(c: OneEvent): SerializedEvent {
  c.s ??= serializeEvent(c.event, c.n);
  return c.s;
}

function deltaOf(c: OneEvent): string {
  c.delta ??= c.s === undefined ? deltaFrame(c.event, c.n) : deltaText(c.s);
  return c.delta;
}

/** Pure: the batch group of an event: its turn (events without a turn are not batched). */
function turnGroup(conversationId: string, event: AgentEvent): string | undefined {
  return event.type === "status" ? undefined : `${conversationId}\u0000${event.turnId}`;
}

export class Fanout {
  /** Every open connection. */
  readonly sockets = new Set<Socket>();
  private readonly everyone = new LeveledSet<Socket>();
  /** Conversation → its watchers and the hub subscription held while it has any. */
  private readonly watchers = new Map<string, WatchEntry>();
  /** The same facts by socket (the reverse index, kept in step by watch/unwatch only). */
  private readonly watching = new Map<Socket, Set<string>>();
  /** Subscription key → its subscribers (few: one per surface and watched conversation). */
  private readonly surfaces = new Map<string, SurfaceEntry>();
  /** Wildcard channel key → its pattern and watchers; the global listener is held while any exist. */
  private readonly channels = new Map<string, { channel: WildcardChannel; sockets: Set<Socket> }>();
  /** The event being delivered, serialized once for every kind of subscriber. */
  private current: OneEvent | undefined;

  constructor(private readonly deps: FanoutDeps) {}

  // ───────────── sending ─────────────

  closeSlow(ws: Socket): void {
    if (!ws.data.open) return;
    const bufferedBytes = ws.getBufferedAmount();
    this.deps.logger.warn("closing slow consumer", { conn: ws.data.id, bufferedBytes, cap: this.deps.cap });
    ws.close(CloseCodes.slowConsumer, "slow consumer");
  }

  /**
   * Sends one text frame; false (and the connection closed with 4008) when it is over the cap. A
   * pending batch goes first, so a batching socket sees everything in order.
   */
  sendText(ws: Socket, text: string): boolean {
    if (ws.data.batch !== undefined && ws.data.batch.pending > 0) ws.data.batch.flush();
    return this.write(ws, text);
  }

  private write(ws: Socket, text: string): boolean {
    if (!ws.data.open) return false;
    const status = ws.send(text, this.deps.compress === true);
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

  /**
   * The connection now speaks `level` (after `hello`): every topic it is on moves to that level.
   * With `batchMs` its turn events are batched from now on (hello comes first: it watches nothing yet).
   */
  setLevel(ws: Socket, level: ProtocolLevel, batchMs?: number): void {
    if (batchMs !== undefined && batchMs > 0 && level >= 2)
      ws.data.batch = new Batcher<SerializedEvent>(batchMs, (items) => {
        this.write(ws, items.length === 1 ? deltaText(items[0] as SerializedEvent) : batchText(items));
      });
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
    for (const key of [...ws.data.channels]) this.unwatchChannel(ws, key);
    for (const key of [...ws.data.surfaces]) this.removeSurface(ws, key);
    ws.data.batch?.dispose();
  }

  // ───────────── conversations ─────────────

  private static readonly none: ReadonlySet<string> = new Set();

  /** The conversations `ws` watches. */
  conversationsOf(ws: Socket): ReadonlySet<string> {
    return this.watching.get(ws) ?? Fanout.none;
  }

  /** The one serialization of `event` (cached while it is being delivered). */
  private serialized(event: AgentEvent, n: number | undefined): OneEvent {
    const c = this.current;
    if (c !== undefined && c.event === event && c.n === n) return c;
    const next: OneEvent = { event, n };
    this.current = next;
    return next;
  }

  /** One event to one socket: into its batch (a turn event of a batching socket) or as chat.delta. */
  private deliver(ws: Socket, c: OneEvent, group: string | undefined): boolean {
    if (ws.data.batch !== undefined && group !== undefined && c.n !== undefined) {
      ws.data.batch.push(group, serializedOf(c));
      return ws.data.open;
    }
    return this.sendText(ws, deltaOf(c));
  }

  /**
   * A live event of a conversation (from its hub): serialized once, published once per level to the
   * conversation's topic; batching watchers get it through their batch.
   */
  event(conversationId: string, event: AgentEvent, n: number | undefined): void {
    const w = this.watchers.get(conversationId);
    if (w === undefined) return;
    let c: ReturnType<Fanout["serialized"]> | undefined;
    // Batching sockets (few, level 2) one by one; everyone else with one publish per level.
    if (w.batched.size > 0 && eventVisibleAt(2, event.type)) {
      const group = turnGroup(conversationId, event);
      c = this.serialized(event, n);
      for (const ws of [...w.batched]) this.deliver(ws, c, group);
    }
    // No copy per event: a socket closed below leaves its bucket, which a Map's iteration tolerates.
    for (const [level, set] of w.sockets.levels()) {
      if (!eventVisibleAt(level, event.type)) continue;
      if (level >= 2 && set.size === w.batched.size) continue;
      c ??= this.serialized(event, n);
      if (this.deps.publish(w.topics[level], deltaOf(c)) > 0) continue;
      for (const ws of [...set]) {
        if (ws.data.open && ws.getBufferedAmount() > this.deps.cap) this.closeSlow(ws);
      }
    }
    if (this.channels.size > 0) this.channelEvent(conversationId, event, n);
  }

  /** A live event of a conversation to the wildcard watchers it matches (not those watching it directly). */
  private channelEvent(conversationId: string, event: AgentEvent, n: number | undefined): void {
    let workspace: string | undefined;
    let looked = false;
    let c: ReturnType<Fanout["serialized"]> | undefined;
    const group = turnGroup(conversationId, event);
    const reached = this.channels.size > 1 ? new Set<Socket>() : undefined;
    for (const { channel, sockets } of this.channels.values()) {
      if (channel.kind === "workspace" && !looked) {
        workspace = this.deps.workspaceOf?.(conversationId);
        looked = true;
      }
      if (!channelMatches(channel, conversationId, workspace)) continue;
      for (const ws of sockets) {
        if (reached?.has(ws)) continue;
        reached?.add(ws);
        if (this.watching.get(ws)?.has(conversationId)) continue;
        if (!eventVisibleAt(ws.data.level, event.type)) continue;
        c ??= this.serialized(event, n);
        this.deliver(ws, c, group);
      }
    }
  }

  /** True when one of `ws`'s wildcard channels covers `conversationId`. */
  private coveredByChannel(ws: Socket, conversationId: string, except?: string): boolean {
    let workspace: string | undefined;
    let looked = false;
    for (const key of ws.data.channels) {
      const sub = this.channels.get(key);
      if (sub === undefined || key === except) continue;
      if (sub.channel.kind === "workspace" && !looked) {
        workspace = this.deps.workspaceOf?.(conversationId);
        looked = true;
      }
      if (channelMatches(sub.channel, conversationId, workspace)) return true;
    }
    return false;
  }

  /** Replays one conversation's turn to one socket (level-filtered); false once the socket closed. */
  private replayTo(ws: Socket, conversationId: string, resume?: ResumePoint): boolean {
    for (const e of this.deps.orchestrator.replay(conversationId, resume)) {
      if (!eventVisibleAt(ws.data.level, e.event.type)) continue;
      const c: OneEvent = { event: e.event, n: e.n };
      if (!this.deliver(ws, c, turnGroup(conversationId, e.event))) return false;
    }
    return true;
  }

  /**
   * Watches a wildcard channel: replays every running turn it matches (after `resume[id]` when given;
   * a conversation named in `resume` whose turn was just sealed is resumed too), then follows every
   * matching conversation live, new ones included — in the same synchronous tick, so nothing is lost
   * or duplicated. Conversations it already receives (directly, or through another channel) are not
   * replayed again.
   */
  watchChannel(
    ws: Socket,
    key: string,
    channel: WildcardChannel,
    resume?: Readonly<Record<string, ResumePoint>>,
  ): void {
    const running = this.deps.orchestrator.runningConversations();
    // Live events of every running turn come through a held hub subscription (its own replay is
    // muted: each socket is replayed below, once).
    for (const cid of running) this.entry(cid).held = true;
    const candidates = new Set(running);
    for (const cid of Object.keys(resume ?? {})) candidates.add(cid);
    for (const cid of candidates) {
      const workspace = channel.kind === "workspace" ? this.deps.workspaceOf?.(cid) : undefined;
      if (!channelMatches(channel, cid, workspace)) continue;
      if (this.watching.get(ws)?.has(cid) || this.coveredByChannel(ws, cid)) continue;
      if (!this.replayTo(ws, cid, resume?.[cid])) break;
    }
    if (!ws.data.open) {
      if (this.channels.size === 0) this.letGoOfHeld();
      return;
    }
    let sub = this.channels.get(key);
    if (sub === undefined) {
      sub = { channel, sockets: new Set() };
      this.channels.set(key, sub);
    }
    sub.sockets.add(ws);
    ws.data.channels.add(key);
  }

  /**
   * A turn started somewhere (the orchestrator's TurnStarted, announced right after its first events):
   * while wildcard channels are watched, its hub is held and tapped from the turn's first event, which
   * reaches the wildcard watchers through `event` (nobody else is on a hub the fan-out did not hold).
   */
  turnStarted(conversationId: string, turnId: string): void {
    if (this.channels.size === 0) return;
    const held = this.watchers.get(conversationId);
    if (held !== undefined) {
      held.held = true;
      return;
    }
    this.entry(conversationId, { turnId, n: 0 }).held = true;
  }

  /** A turn was sealed (its last event and status are out): its hub is no longer held for channels. */
  turnSettled(conversationId: string): void {
    const w = this.watchers.get(conversationId);
    // A queued message may already have started the next turn (inside `turn-sealed`): keep holding.
    if (w === undefined || !w.held || this.deps.orchestrator.runningTurn(conversationId) !== undefined)
      return;
    w.held = false;
    this.release(conversationId);
  }

  /** The last wildcard watcher left: every hub held only for channels is let go. */
  private letGoOfHeld(): void {
    for (const [cid, w] of [...this.watchers]) {
      if (!w.held) continue;
      w.held = false;
      this.release(cid);
    }
  }

  unwatchChannel(ws: Socket, key: string): void {
    ws.data.channels.delete(key);
    const sub = this.channels.get(key);
    if (sub === undefined) return;
    sub.sockets.delete(ws);
    if (sub.sockets.size > 0) return;
    this.channels.delete(key);
    if (this.channels.size === 0) this.letGoOfHeld();
  }

  private presence(conversationId: string): void {
    const w = this.watchers.get(conversationId);
    if (w === undefined) return;
    const frame = presenceFrame(conversationId, w.sockets.size, w.viewers);
    const text = JSON.stringify(frame);
    this.publish(convTopic(conversationId), frame, w.sockets, text);
    // Batching sockets are level 2 (which sees presence) and on no topic.
    for (const ws of [...w.batched]) this.sendText(ws, text);
  }

  /**
   * The watcher entry of a conversation; the first one subscribes to its hub. That subscription's own
   * replay is muted (each socket gets its replay in `watch` / `watchChannel`), unless `from` asks to
   * deliver it (a new turn tapped for the wildcard watchers, who have seen none of it).
   */
  private entry(conversationId: string, from?: ResumePoint): WatchEntry {
    const known = this.watchers.get(conversationId);
    if (known !== undefined) return known;
    const entry: WatchEntry = {
      sockets: new LeveledSet<Socket>(),
      viewers: 0,
      dispose: () => {},
      held: false,
      batched: new Set(),
      topics: { 1: levelTopic(convTopic(conversationId), 1), 2: levelTopic(convTopic(conversationId), 2) },
    };
    this.watchers.set(conversationId, entry);
    let muted = from === undefined;
    entry.dispose = this.deps.orchestrator.subscribe(
      conversationId,
      (event, n) => {
        if (muted) return;
        try {
          this.event(conversationId, event, n);
        } catch (err) {
          this.deps.logger.error("event fan-out failed", {
            code: "WS_INTERNAL_ERROR",
            error: errorText(err),
          });
        }
      },
      from,
    );
    muted = false;
    return entry;
  }

  /** Forgets an entry nobody watches (nor holds for channels) any more, and its hub subscription. */
  private release(conversationId: string): void {
    const w = this.watchers.get(conversationId);
    if (w === undefined || w.sockets.size > 0 || (w.held && this.channels.size > 0)) return;
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
    // A wildcard channel already brings this conversation live: replaying would repeat its turn.
    if (!this.coveredByChannel(ws, conversationId)) this.replayTo(ws, conversationId, resume);
    if (!ws.data.open) {
      this.release(conversationId);
      return;
    }
    // A batching socket gets the conversation's frames from `event` and `presence`, not the topic.
    if (ws.data.batch === undefined) ws.subscribe(levelTopic(convTopic(conversationId), ws.data.level));
    else w.batched.add(ws);
    let mine = this.watching.get(ws);
    if (mine === undefined) {
      mine = new Set();
      this.watching.set(ws, mine);
    }
    mine.add(conversationId);
    w.sockets.add(ws);
    if (ws.data.role.kind === "viewer") w.viewers++;
    this.presence(conversationId);
  }

  unwatch(ws: Socket, conversationId: string): void {
    if (ws.data.open) ws.unsubscribe(levelTopic(convTopic(conversationId), ws.data.level));
    const mine = this.watching.get(ws);
    mine?.delete(conversationId);
    if (mine?.size === 0) this.watching.delete(ws);
    const w = this.watchers.get(conversationId);
    if (w === undefined) return;
    if (w.sockets.delete(ws) && ws.data.role.kind === "viewer") w.viewers--;
    w.batched.delete(ws);
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
