/**
 * Who receives what, and the checked sending (I/O; used by the shell in server.ts).
 *
 * - Conversations: each event is serialized once and published to `conv:<id>` with Bun's native
 *   pub/sub; a joining socket is replayed the running turn and subscribed in the same synchronous
 *   tick, so nothing is lost or duplicated. Watcher counts drive `conversation.presence`.
 * - Surfaces: one topic per (surfaceId, conversationId); a change fetches the spec once and publishes
 *   one `update`; changes during a fetch coalesce into one more fetch.
 * - Global: catalog and conversation broadcasts go to one topic every connection joins.
 *
 * Backpressure: every send and publish result is checked. A connection whose unsent output passes the
 * cap is closed with 4008. Per event nothing loops over watchers in JavaScript, except to find the
 * slow consumers after Bun reported backpressure or a drop.
 */
import type { Logger } from "@dispatch/kernel";
import type { AgentEvent, ResumePoint, ServerMessage, SurfaceSpec } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator";
import type { SurfaceContext, SurfaceRegistry } from "@dispatch/surface-registry";
import type { ServerWebSocket } from "bun";
import { CloseCodes } from "./contract";
import type { RateState } from "./rate-limit";
import type { OpResult } from "./replies";
import { deltaFrame, presenceFrame, updateFrame } from "./replies";
import type { ConnectionState, SurfaceTarget } from "./router";

/** Per-connection state (`ws.data`); it is also the router's ConnectionState. */
export interface ConnData extends ConnectionState {
  id: number;
  authenticated: boolean;
  /** False once closed (Bun runs `close` synchronously inside `ws.close`). */
  open: boolean;
  rate: RateState;
  readonly surfaces: Set<string>;
  readonly conversations: Set<string>;
}
export type Socket = ServerWebSocket<ConnData>;

export interface FanoutDeps {
  /** `server.publish(topic, text, false)`: Bun's status (bytes, -1 backpressure, 0 dropped or nobody). */
  publish(topic: string, text: string): number;
  /** Unsent bytes per connection before it is closed as a slow consumer. */
  cap: number;
  logger: Logger;
  orchestrator: Pick<Orchestrator, "replay">;
  registry: Pick<SurfaceRegistry, "getSpec">;
}

/** The subscribers of one (surfaceId, conversationId) and the state of its spec refresh. */
interface SurfaceEntry {
  target: SurfaceTarget;
  topic: string;
  sockets: Set<Socket>;
  fetching: boolean;
  dirty: boolean;
  /** Spec fetches started for this entry (refreshes and subscribers' own), in order. */
  fetches: number;
  /** The newest published `update`: the number of its fetch and its spec. */
  published?: { fetch: number; spec: SurfaceSpec };
}

export const GLOBAL_TOPIC = "global";
const convTopic = (conversationId: string) => `conv:${conversationId}`;
const surfaceTopic = (key: string) => `surface:${key}`;

export function surfaceCtx(target: SurfaceTarget): SurfaceContext | undefined {
  return target.conversationId === undefined ? undefined : { conversationId: target.conversationId };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

export class Fanout {
  /** Every open connection. */
  readonly sockets = new Set<Socket>();
  private readonly watchers = new Map<string, Set<Socket>>();
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

  sendFrames(ws: Socket, frames: readonly ServerMessage[]): void {
    for (const f of frames) if (!this.sendText(ws, JSON.stringify(f))) return;
  }

  /** Publishes once; when Bun reports backpressure or a drop, closes the subscribers over the cap. */
  private publish(topic: string, text: string, subscribers: Iterable<Socket>): void {
    if (this.deps.publish(topic, text) > 0) return;
    for (const ws of [...subscribers]) {
      if (ws.data.open && ws.getBufferedAmount() > this.deps.cap) this.closeSlow(ws);
    }
  }

  /** Sends an already serialized frame to every connection. */
  broadcast(text: string): void {
    this.publish(GLOBAL_TOPIC, text, this.sockets);
  }

  /** A new connection: joins the global topic and gets `first` (the catalog). */
  open(ws: Socket, first: string): void {
    ws.data.open = true;
    this.sockets.add(ws);
    ws.subscribe(GLOBAL_TOPIC);
    this.sendText(ws, first);
  }

  /** A closed connection: every subscription it held is disposed; turns keep running. */
  drop(ws: Socket): void {
    ws.data.open = false;
    this.sockets.delete(ws);
    for (const cid of [...ws.data.conversations]) this.unwatch(ws, cid);
    for (const key of [...ws.data.surfaces]) this.removeSurface(ws, key);
  }

  // ───────────── conversations ─────────────

  /** A live event of a conversation: serialized once, published once; skipped when nobody watches. */
  event(conversationId: string, event: AgentEvent, n: number | undefined): void {
    const set = this.watchers.get(conversationId);
    if (set === undefined) return;
    this.publish(convTopic(conversationId), JSON.stringify(deltaFrame(event, n)), set);
  }

  private presence(conversationId: string): void {
    const set = this.watchers.get(conversationId);
    if (set === undefined) return;
    this.publish(convTopic(conversationId), JSON.stringify(presenceFrame(conversationId, set.size)), set);
  }

  /**
   * Replays to this socket then joins the topic in the same synchronous tick: no event can be
   * published in between, so nothing is lost or duplicated. Pending permission requests come with
   * the replay (the orchestrator adds those the replay lacks).
   */
  watch(ws: Socket, conversationId: string, resume?: ResumePoint): void {
    for (const e of this.deps.orchestrator.replay(conversationId, resume)) {
      if (!this.sendText(ws, JSON.stringify(deltaFrame(e.event, e.n)))) return;
    }
    if (!ws.data.open) return;
    ws.subscribe(convTopic(conversationId));
    ws.data.conversations.add(conversationId);
    let set = this.watchers.get(conversationId);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(conversationId, set);
    }
    set.add(ws);
    this.presence(conversationId);
  }

  unwatch(ws: Socket, conversationId: string): void {
    if (ws.data.open) ws.unsubscribe(convTopic(conversationId));
    ws.data.conversations.delete(conversationId);
    const set = this.watchers.get(conversationId);
    if (set === undefined) return;
    set.delete(ws);
    if (set.size === 0) this.watchers.delete(conversationId);
    else this.presence(conversationId);
  }

  // ───────────── surfaces ─────────────

  addSurface(ws: Socket, target: SurfaceTarget): void {
    let entry = this.surfaces.get(target.key);
    if (entry === undefined) {
      entry = {
        target,
        topic: surfaceTopic(target.key),
        sockets: new Set(),
        fetching: false,
        dirty: false,
        fetches: 0,
      };
      this.surfaces.set(target.key, entry);
    }
    entry.sockets.add(ws);
    ws.data.surfaces.add(target.key);
    ws.subscribe(entry.topic);
  }

  removeSurface(ws: Socket, key: string): void {
    ws.data.surfaces.delete(key);
    const entry = this.surfaces.get(key);
    if (entry === undefined) return;
    if (ws.data.open) ws.unsubscribe(entry.topic);
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
      if (only !== undefined && entry.target.scope === "conversation" && entry.target.conversationId !== only)
        continue;
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
          this.publish(entry.topic, JSON.stringify(updateFrame(entry.target, r.value)), entry.sockets);
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
