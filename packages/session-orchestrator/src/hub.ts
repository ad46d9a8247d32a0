import type { Logger } from "@dispatch/kernel";
import type { AgentEvent, ResumePoint } from "@dispatch/protocol/types";

/** Pure: the characters an event holds for the replay buffer's cap (its variable-size text). */
export function eventChars(event: AgentEvent): number {
  switch (event.type) {
    case "text-delta":
    case "reasoning-delta":
      return event.delta.length;
    case "tool-output":
      return event.data.length;
    case "tool-result":
      return event.content.length;
    case "user-message":
    case "steering":
      return event.text.length;
    case "error":
      return event.message.length;
    default:
      return 64;
  }
}

/**
 * Receives one event; `n` is its 1-based index within its turn (undefined for `status` events), `at`
 * its place on the hubs' shared clock (numbered events only, see `EventClock`).
 */
export type HubListener = (event: AgentEvent, n: number | undefined, at?: number) => void;

export interface HubEntry {
  event: AgentEvent;
  n?: number;
  /** Its place on the shared clock (numbered events). */
  at?: number;
}

/**
 * One count shared by the hubs of an orchestrator: every numbered event of every conversation gets
 * the next value when it is published, so `at` orders events across conversations exactly as they
 * were delivered (an SSE stream of a wildcard channel resumes from one such place).
 */
export interface EventClock {
  next(): number;
}

export interface ConversationHubOptions {
  /** Most events of one turn kept for replay; older ones are dropped first. */
  replayBufferLimit: number;
  /**
   * Most characters (deltas, tool output, results, messages: see `eventChars`) the buffer holds;
   * older events are dropped first, the newest one is always kept. Default: unbounded.
   */
  replayBufferChars?: number;
  logger: Logger;
  /** Called after every listener with each live event (the live taps: the turn observer, the log). */
  onLive?: (event: AgentEvent, n: number | undefined, at?: number) => void;
  /** The clock numbered events are stamped with (default: this hub's own). */
  clock?: EventClock;
}

/**
 * The live fan-out of one conversation.
 *
 * Guarantees:
 * - Events of a turn are numbered `n` = 1, 2, 3… in publish order; `status` events carry no `n` and are
 *   not buffered (they describe the conversation, not the turn).
 * - `subscribe` replays synchronously and then adds the listener before returning, so a subscriber sees
 *   every event exactly once: nothing can be published between the replay and the first live event.
 * - The buffer of the running turn is bounded in events (`replayBufferLimit`) and in characters
 *   (`replayBufferChars`): beyond either the oldest events are dropped, and a replay starts at the
 *   oldest kept event (the gap is visible as a jump in `n`). Dropped events of finished steps can be
 *   read from history; dropped events of the step still streaming cannot yet: its content reaches
 *   history when the step ends (and is durable meanwhile, see InflightWriter), so a late joiner of one
 *   very long step sees its tail live and reads the whole step from history once it is persisted.
 * - The last sealed turn's buffer is kept until the next turn starts, so a client that lost its
 *   connection near the end of a turn can still `resume` it.
 * - Listeners are called synchronously and never awaited. A throwing listener (or one whose returned
 *   promise rejects) is logged and stays subscribed; it never prevents delivery to the others. Slow
 *   consumers must buffer on their side (the WS transport enforces a per-socket output cap).
 */
export class ConversationHub {
  /** Replaced (never mutated) on subscribe/unsubscribe, so `publish` iterates it without a copy. */
  private listeners: readonly HubListener[] = [];
  /** The turn's last events: a ring of `count` entries from index `start` (capacity replayBufferLimit). */
  private buffer: (HubEntry | undefined)[] = [];
  /** `eventChars` of each buffered entry, parallel to `buffer`. */
  private sizes: number[] = [];
  private start = 0;
  private count = 0;
  private chars = 0;
  private turnId: string | undefined;
  private nextN = 1;
  private running = false;
  private readonly clock: EventClock;

  constructor(
    readonly conversationId: string,
    private readonly opts: ConversationHubOptions,
  ) {
    let count = 0;
    this.clock = opts.clock ?? { next: () => ++count };
  }

  /** The turn whose events are buffered (running, or the last sealed one). */
  get currentTurnId(): string | undefined {
    return this.turnId;
  }

  get isTurnRunning(): boolean {
    return this.running;
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  /** Starts numbering a new turn and drops the previous turn's buffer. */
  beginTurn(turnId: string): void {
    this.turnId = turnId;
    this.buffer = [];
    this.sizes = [];
    this.start = 0;
    this.count = 0;
    this.chars = 0;
    this.nextN = 1;
    this.running = true;
  }

  /**
   * Marks `turnId` sealed (a no-op when another turn has begun since); its buffer stays available for
   * `resume` until the next `beginTurn`.
   */
  endTurn(turnId: string): void {
    if (turnId === this.turnId) this.running = false;
  }

  /**
   * Numbers (when it belongs to the current turn), buffers and delivers one event. Returns its `n`.
   * Events of a turn other than the current one are delivered unnumbered.
   */
  publish(event: AgentEvent): number | undefined {
    let n: number | undefined;
    let at: number | undefined;
    if (event.type !== "status" && event.turnId === this.turnId) {
      n = this.nextN++;
      at = this.clock.next();
      this.push({ event, n, at }, eventChars(event));
    }
    for (const listener of this.listeners) this.deliver(listener, event, n, at);
    if (this.opts.onLive) this.deliver(this.opts.onLive, event, n, at);
    return n;
  }

  /**
   * What a subscriber joining now is replayed: the running turn from its start (or after `resume.n`
   * when `resume.turnId` is that turn); for the last sealed turn only with a matching `resume`.
   */
  replay(resume?: ResumePoint): HubEntry[] {
    if (this.turnId === undefined) return [];
    if (resume && resume.turnId === this.turnId) {
      return this.ordered().filter((e) => (e.n ?? 0) > resume.n);
    }
    return this.running ? this.ordered() : [];
  }

  /** A copy of the buffer, oldest first. */
  private ordered(): HubEntry[] {
    const limit = this.opts.replayBufferLimit;
    const out: HubEntry[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.buffer[(this.start + i) % limit] as HubEntry;
    return out;
  }

  /** O(1) amortized per event: the ring never shifts; eviction advances `start`. */
  private push(entry: HubEntry, size: number): void {
    const limit = this.opts.replayBufferLimit;
    if (this.count === limit) this.dropOldest(limit);
    const at = (this.start + this.count) % limit;
    this.buffer[at] = entry;
    this.sizes[at] = size;
    this.count += 1;
    this.chars += size;
    const maxChars = this.opts.replayBufferChars;
    if (maxChars !== undefined) while (this.chars > maxChars && this.count > 1) this.dropOldest(limit);
  }

  private dropOldest(limit: number): void {
    this.chars -= this.sizes[this.start] ?? 0;
    this.buffer[this.start] = undefined;
    this.start = (this.start + 1) % limit;
    this.count -= 1;
  }

  /** Replays (see `replay`) then adds `listener` for live events. Returns the unsubscribe function. */
  subscribe(
    listener: HubListener,
    resume?: ResumePoint,
    extra?: (replayed: HubEntry[]) => HubEntry[],
  ): () => void {
    const replayed = this.replay(resume);
    const entries = extra ? [...replayed, ...extra(replayed)] : replayed;
    for (const e of entries) this.deliver(listener, e.event, e.n, e.at);
    // A listener subscribed twice is kept once (as a Set would).
    if (!this.listeners.includes(listener)) this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private deliver(listener: HubListener, event: AgentEvent, n: number | undefined, at?: number): void {
    try {
      const out: unknown = listener(event, n, at);
      if (out instanceof Promise) out.catch((err: unknown) => this.logFailure(err, event));
    } catch (err) {
      this.logFailure(err, event);
    }
  }

  private logFailure(err: unknown, event: AgentEvent): void {
    this.opts.logger.error("conversation listener threw", {
      conversationId: this.conversationId,
      eventType: event.type,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
