import type { Logger } from "@dispatch/kernel";
import type { AgentEvent, ResumePoint } from "@dispatch/protocol/types";

/** Receives one event; `n` is its 1-based index within its turn (undefined for `status` events). */
export type HubListener = (event: AgentEvent, n: number | undefined) => void;

export interface HubEntry {
  event: AgentEvent;
  n?: number;
}

export interface ConversationHubOptions {
  /** Most events of one turn kept for replay; older ones are dropped first. */
  replayBufferLimit: number;
  logger: Logger;
  /** Called after every listener with each live event (the orchestrator's global fan-out). */
  onLive?: (event: AgentEvent, n: number | undefined) => void;
}

/**
 * The live fan-out of one conversation.
 *
 * Guarantees:
 * - Events of a turn are numbered `n` = 1, 2, 3… in publish order; `status` events carry no `n` and are
 *   not buffered (they describe the conversation, not the turn).
 * - `subscribe` replays synchronously and then adds the listener before returning, so a subscriber sees
 *   every event exactly once: nothing can be published between the replay and the first live event.
 * - The buffer of the running turn is bounded (`replayBufferLimit`): beyond it the oldest events are
 *   dropped, and a replay starts at the oldest kept event (the gap is visible as a jump in `n`; the
 *   dropped events belong to steps that are already persisted and can be read from history).
 * - The last sealed turn's buffer is kept until the next turn starts, so a client that lost its
 *   connection near the end of a turn can still `resume` it.
 * - Listeners are called synchronously and never awaited. A throwing listener (or one whose returned
 *   promise rejects) is logged and stays subscribed; it never prevents delivery to the others. Slow
 *   consumers must buffer on their side (the WS transport enforces a per-socket output cap).
 */
export class ConversationHub {
  /** Replaced (never mutated) on subscribe/unsubscribe, so `publish` iterates it without a copy. */
  private listeners: readonly HubListener[] = [];
  /** The turn's last events, a ring once full: `oldest` is then the index of the oldest one. */
  private buffer: HubEntry[] = [];
  private oldest = 0;
  private turnId: string | undefined;
  private nextN = 1;
  private running = false;

  constructor(
    readonly conversationId: string,
    private readonly opts: ConversationHubOptions,
  ) {}

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
    this.oldest = 0;
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
    if (event.type !== "status" && event.turnId === this.turnId) {
      n = this.nextN++;
      // O(1) per event: a full buffer overwrites its oldest entry instead of shifting the array.
      const limit = this.opts.replayBufferLimit;
      if (this.buffer.length < limit) this.buffer.push({ event, n });
      else {
        this.buffer[this.oldest] = { event, n };
        this.oldest = (this.oldest + 1) % limit;
      }
    }
    for (const listener of this.listeners) this.deliver(listener, event, n);
    if (this.opts.onLive) this.deliver(this.opts.onLive, event, n);
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
    if (this.oldest === 0) return [...this.buffer];
    return [...this.buffer.slice(this.oldest), ...this.buffer.slice(0, this.oldest)];
  }

  /** Replays (see `replay`) then adds `listener` for live events. Returns the unsubscribe function. */
  subscribe(
    listener: HubListener,
    resume?: ResumePoint,
    extra?: (replayed: HubEntry[]) => HubEntry[],
  ): () => void {
    const replayed = this.replay(resume);
    const entries = extra ? [...replayed, ...extra(replayed)] : replayed;
    for (const e of entries) this.deliver(listener, e.event, e.n);
    // A listener subscribed twice is kept once (as a Set would).
    if (!this.listeners.includes(listener)) this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private deliver(listener: HubListener, event: AgentEvent, n: number | undefined): void {
    try {
      const out: unknown = listener(event, n);
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
