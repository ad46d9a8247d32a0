import type { AgentEvent } from "@dispatch/protocol/types";
import type { EventClock } from "./hub";

/** One numbered event as the log of recent events holds it. */
export interface RecentEvent {
  conversationId: string;
  event: AgentEvent;
  n: number;
  /** Its place on the clock. */
  at: number;
}

/** The default number of events kept. */
export const RECENT_EVENTS = 10_000;

/**
 * The hubs' shared clock, and the last `capacity` numbered events of every conversation stamped
 * with it — what a stream of a wildcard channel missed while it reconnected (`since`). No I/O.
 *
 * Guarantees:
 * - `since(id, at)` answers every event stamped after `at`, in clock order, each once — or undefined
 *   when it cannot: another clock (a daemon restarted since), a place not issued yet, or events after
 *   `at` already dropped. It never answers a partial list.
 * - Memory is bounded by `capacity` events (the oldest go first); nothing is allocated before use.
 */
export class RecentEvents implements EventClock {
  /** This clock's identity: a place on it means nothing to another process. */
  readonly id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
  private issued = 0;
  /** The highest `at` dropped: events after it are all here. */
  private droppedTo = 0;
  private readonly ring: RecentEvent[] = [];
  private start = 0;

  constructor(private readonly capacity = RECENT_EVENTS) {}

  next(): number {
    return ++this.issued;
  }

  record(entry: RecentEvent): void {
    if (this.capacity <= 0) {
      this.droppedTo = Math.max(this.droppedTo, entry.at);
      return;
    }
    if (this.ring.length < this.capacity) {
      this.ring.push(entry);
      return;
    }
    const old = this.ring[this.start] as RecentEvent;
    this.droppedTo = Math.max(this.droppedTo, old.at);
    this.ring[this.start] = entry;
    this.start = (this.start + 1) % this.capacity;
  }

  since(id: string, at: number): RecentEvent[] | undefined {
    if (id !== this.id || !Number.isSafeInteger(at) || at < 0 || at > this.issued || at < this.droppedTo)
      return undefined;
    const out: RecentEvent[] = [];
    for (const e of this.ring) if (e.at > at) out.push(e);
    // A listener may publish into another hub from inside a publish: stamped in order, recorded not.
    return out.sort((a, b) => a.at - b.at);
  }
}
