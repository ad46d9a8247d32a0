/**
 * The relay's view of Redis: one blocking reader follows every conversation some viewer of this
 * relay watches (one `XREAD BLOCK … STREAMS k1 k2 …` on its own connection), and hands each entry,
 * decoded once, to every watcher of that conversation. A new watcher catches up with `XRANGE` from its
 * position while live entries wait in its buffer, so it sees every entry once, in order: no gap, no
 * duplicate, whichever relay it was on before (positions are stream ids, the same on every relay).
 *
 * State is only what the connections need: the watchers, the last id read per conversation, and
 * the owner's presence seen last. Losing Redis loses nothing: the reader retries from the same ids,
 * and the publisher republishes the running turn with the same ids.
 */
import { parseAgentEvent } from "@dispatch/protocol";
import type { AgentEvent, ResumePoint, StoredChunk } from "@dispatch/protocol/types";
import {
  type ConversationMetaRecord,
  compareStreamIds,
  conversationKeys,
  decodeEntries,
  decodeMeta,
  parseStreamId,
  RedisLink,
  STREAM_START,
  type StreamEntry,
  xreadStreams,
} from "@dispatch/relay-streams";

export const validateEvent = (e: unknown): AgentEvent | undefined => {
  const r = parseAgentEvent(e);
  return r.ok ? r.value : undefined;
};

/**
 * Pure: what a new watcher is handed once its catch-up (`caught`, read with `XRANGE` after `after`)
 * is in, given the live entries the reader buffered for it meanwhile (which may repeat the tail of
 * the catch-up, or come before it when the reader lags): each entry after `after` once, in stream
 * order, and the id the watcher is at then.
 */
export function catchUp(
  after: string,
  caught: readonly StreamEntry[],
  buffered: readonly StreamEntry[],
): { deliver: StreamEntry[]; lastId: string } {
  const deliver: StreamEntry[] = [];
  let lastId = after;
  for (const e of [...caught, ...buffered]) {
    if (compareStreamIds(e.id, lastId) <= 0) continue;
    deliver.push(e);
    lastId = e.id;
  }
  return { deliver, lastId };
}

/** One watcher of one conversation (a WebSocket subscription, an SSE stream, a long-poll). */
export interface Watcher {
  /** Entries in stream order, each once. */
  deliver(entries: readonly StreamEntry[]): void;
  /** The owner's presence changed (or is first known). */
  presence?(ownerOnline: boolean): void;
}

interface WatchState {
  watcher: Watcher;
  lastId: string;
  buffer: StreamEntry[] | undefined;
}

interface Feed {
  conversationId: string;
  key: string;
  lastId: string;
  watchers: Set<WatchState>;
  owner: boolean | undefined;
}

export interface FeedsOptions {
  redis: string;
  prefix: string;
  onBadEntry?: (reason: string) => void;
  /** Entries handed out (for /metrics). */
  onEntries?: (count: number) => void;
}

const CATCH_UP_COUNT = 10_000;
const BLOCK_MS = 5_000;

export class Feeds {
  readonly #opts: FeedsOptions;
  readonly cmd: RedisLink;
  readonly #reader: RedisLink;
  #readerId: string | undefined;
  readonly #feeds = new Map<string, Feed>();
  #blocked = false;
  #stopped = false;
  #wake: (() => void) | undefined;
  readonly #presenceTimer: ReturnType<typeof setInterval>;

  constructor(opts: FeedsOptions) {
    this.#opts = opts;
    this.cmd = new RedisLink({ url: opts.redis, name: "relay commands" });
    this.#reader = new RedisLink({
      url: opts.redis,
      name: "relay reader",
      onUp: () => {
        this.#readerId = undefined;
      },
    });
    void this.#readLoop();
    this.#presenceTimer = setInterval(() => void this.#pollPresence(), 1_000);
  }

  get up(): boolean {
    return this.cmd.up && this.#reader.up;
  }

  async ready(timeoutMs = 5_000): Promise<void> {
    await Promise.all([this.cmd.ready(timeoutMs), this.#reader.ready(timeoutMs)]);
  }

  /** Conversations followed, watchers in all. */
  stats(): { conversations: number; watchers: number } {
    let watchers = 0;
    for (const f of this.#feeds.values()) watchers += f.watchers.size;
    return { conversations: this.#feeds.size, watchers };
  }

  keys(conversationId: string) {
    return conversationKeys(this.#opts.prefix, conversationId);
  }

  /**
   * Watches a conversation from `resume` (the events after it), else from the start of its running
   * turn (none when the last turn is sealed) — what the daemon's `chat.subscribe` replays. Resolves
   * once the catch-up was delivered; the returned function stops watching.
   */
  async watch(conversationId: string, watcher: Watcher, resume?: ResumePoint): Promise<() => void> {
    const feed = await this.#feed(conversationId);
    const state: WatchState = { watcher, lastId: STREAM_START, buffer: [] };
    feed.watchers.add(state);
    const stop = () => {
      feed.watchers.delete(state);
      if (feed.watchers.size === 0 && this.#feeds.get(conversationId) === feed)
        this.#feeds.delete(conversationId);
    };
    try {
      const { after, top } = await this.#startId(feed.key, conversationId, resume);
      const caught = after === undefined ? [] : await this.#range(feed.key, after, top);
      // Nothing to replay: live entries are those after the top seen now (any buffered ones included).
      const buffered = state.buffer ?? [];
      state.buffer = undefined;
      const next = catchUp(after ?? top, caught, buffered);
      state.lastId = next.lastId;
      if (next.deliver.length > 0) watcher.deliver(next.deliver);
      if (feed.owner !== undefined) watcher.presence?.(feed.owner);
      else void this.#pollPresence();
    } catch (e) {
      stop();
      throw e;
    }
    return stop;
  }

  /**
   * Every entry after `after` up to `top` (the stream's last id when the watch began), page by page:
   * a catch-up longer than one page (a big `streamMaxLen`, a resume far back) is read whole, never
   * cut at the page size. Entries after `top` arrive through the reader's buffer.
   */
  async #range(key: string, after: string, top: string): Promise<StreamEntry[]> {
    const out: StreamEntry[] = [];
    let from = after;
    for (;;) {
      const raw = (await this.cmd.send("XRANGE", [key, `(${from}`, top, "COUNT", String(CATCH_UP_COUNT)])) as
        | unknown[]
        | null;
      const list = Array.isArray(raw) ? raw : [];
      out.push(...decodeEntries(list, validateEvent, this.#opts.onBadEntry));
      const last = list.at(-1);
      if (list.length < CATCH_UP_COUNT || !Array.isArray(last) || typeof last[0] !== "string") return out;
      from = last[0];
    }
  }

  /**
   * Where a catch-up starts: the id it replays after (exclusive), or undefined for nothing to replay;
   * `top` is the stream's last id now.
   */
  async #startId(
    key: string,
    conversationId: string,
    resume?: ResumePoint,
  ): Promise<{ after: string | undefined; top: string }> {
    const rawTop = (await this.cmd.send("XREVRANGE", [key, "+", "-", "COUNT", "1"])) as unknown[] | null;
    const topId = Array.isArray(rawTop) && Array.isArray(rawTop[0]) ? String(rawTop[0][0]) : STREAM_START;
    if (resume) {
      const ms = await this.cmd.send("HGET", [this.keys(conversationId).turns, resume.turnId]);
      if (typeof ms === "string" && /^\d+$/.test(ms)) return { after: `${ms}-${resume.n}`, top: topId };
    }
    const last = decodeEntries(rawTop, validateEvent)[0];
    if (!last || last.event.type === "turn-sealed") return { after: undefined, top: topId };
    const id = parseStreamId(last.id);
    // A turn's events are numbered from 1, so `<turnMs>-0` is before all of them.
    return { after: id ? `${id.ms}-0` : undefined, top: topId };
  }

  /** Hands entries after the watcher's position to it (or to its buffer while it catches up). */
  #offer(state: WatchState, entries: readonly StreamEntry[]): void {
    if (state.buffer) {
      state.buffer.push(...entries);
      return;
    }
    let fresh = entries;
    if (entries.length > 0 && compareStreamIds((entries[0] as StreamEntry).id, state.lastId) <= 0)
      fresh = entries.filter((e) => compareStreamIds(e.id, state.lastId) > 0);
    if (fresh.length === 0) return;
    state.lastId = (fresh.at(-1) as StreamEntry).id;
    state.watcher.deliver(fresh);
  }

  async #feed(conversationId: string): Promise<Feed> {
    const existing = this.#feeds.get(conversationId);
    if (existing) return existing;
    const key = this.keys(conversationId).events;
    const top = (await this.cmd.send("XREVRANGE", [key, "+", "-", "COUNT", "1"])) as unknown[] | null;
    const again = this.#feeds.get(conversationId);
    if (again) return again;
    const topId = Array.isArray(top) && Array.isArray(top[0]) ? String(top[0][0]) : STREAM_START;
    const feed: Feed = { conversationId, key, lastId: topId, watchers: new Set(), owner: undefined };
    this.#feeds.set(conversationId, feed);
    this.#interrupt();
    return feed;
  }

  /** A new conversation to follow: end the current blocking read so the next one includes it. */
  #interrupt(): void {
    this.#wake?.();
    if (this.#blocked && this.#readerId !== undefined)
      this.cmd.send("CLIENT", ["UNBLOCK", this.#readerId]).catch(() => {});
  }

  async #readLoop(): Promise<void> {
    while (!this.#stopped) {
      const feeds = [...this.#feeds.values()];
      if (feeds.length === 0) {
        await new Promise<void>((r) => {
          this.#wake = r;
          setTimeout(r, 1_000);
        });
        this.#wake = undefined;
        continue;
      }
      try {
        await this.#reader.ready(60_000);
        if (this.#readerId === undefined) this.#readerId = String(await this.#reader.send("CLIENT", ["ID"]));
        // The feeds as they are now, in the same tick as `#blocked`: one added during the awaits above
        // is read at once instead of after a whole BLOCK_MS.
        feeds.splice(0, feeds.length, ...this.#feeds.values());
        if (feeds.length === 0) continue;
        this.#blocked = true;
        const raw = await this.#reader.send("XREAD", [
          "COUNT",
          "1000",
          "BLOCK",
          String(BLOCK_MS),
          "STREAMS",
          ...feeds.map((f) => f.key),
          ...feeds.map((f) => f.lastId),
        ]);
        this.#blocked = false;
        for (const [key, list] of xreadStreams(raw)) {
          const feed = feeds.find((f) => f.key === key);
          if (!feed) continue;
          const entries = decodeEntries(list, validateEvent, this.#opts.onBadEntry);
          const lastRaw = list.at(-1);
          if (Array.isArray(lastRaw) && typeof lastRaw[0] === "string") feed.lastId = lastRaw[0];
          if (entries.length === 0) continue;
          this.#opts.onEntries?.(entries.length * feed.watchers.size);
          for (const w of feed.watchers) this.#offer(w, entries);
        }
      } catch {
        this.#blocked = false;
        if (!this.#stopped) await Bun.sleep(50);
      }
    }
  }

  async #pollPresence(): Promise<void> {
    const feeds = [...this.#feeds.values()];
    if (feeds.length === 0 || !this.cmd.up) return;
    try {
      const answers = await Promise.all(
        feeds.map((f) => this.cmd.send("EXISTS", [this.keys(f.conversationId).owner])),
      );
      feeds.forEach((f, i) => {
        const online = answers[i] === 1;
        if (f.owner === online) return;
        f.owner = online;
        for (const w of f.watchers) if (!w.buffer) w.watcher.presence?.(online);
      });
    } catch {}
  }

  /** History chunks with `sinceSeq < seq < beforeSeq`, the newest `limit`, ascending. */
  async chunks(
    conversationId: string,
    q: { sinceSeq?: number; beforeSeq?: number; limit?: number },
  ): Promise<StoredChunk[]> {
    const key = this.keys(conversationId).chunks;
    const min = q.sinceSeq === undefined ? "-inf" : `(${q.sinceSeq}`;
    const max = q.beforeSeq === undefined ? "+inf" : `(${q.beforeSeq}`;
    const args = q.limit === undefined ? [key, max, min] : [key, max, min, "LIMIT", "0", String(q.limit)];
    const raw = (await this.cmd.send("ZREVRANGEBYSCORE", args)) as unknown[];
    const out: StoredChunk[] = [];
    for (const m of Array.isArray(raw) ? raw : []) {
      try {
        const c = JSON.parse(String(m)) as StoredChunk;
        if (typeof c?.seq === "number") out.push(c);
      } catch {}
    }
    return out.reverse();
  }

  async meta(conversationId: string): Promise<ConversationMetaRecord | undefined> {
    return decodeMeta(await this.cmd.send("HGETALL", [this.keys(conversationId).meta]));
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#presenceTimer);
    this.#wake?.();
    this.#reader.close();
    this.cmd.close();
  }
}
