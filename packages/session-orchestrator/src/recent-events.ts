import type { AgentEvent } from "@dispatch/protocol/types";
import { type EventClock, eventChars } from "./hub";

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
/** The default characters they may hold (deltas, tool output, results: see the hub's `eventChars`). */
export const RECENT_EVENT_CHARS = 4_000_000;

/**
 * The hubs' shared clock, and the last `capacity` numbered events of every conversation stamped
 * with it — what a stream of a wildcard channel missed while it reconnected (`since`). No I/O.
 *
 * Guarantees:
 * - `since(id, at)` answers every event stamped after `at`, in clock order, each once — or undefined
 *   when it cannot: another clock (a daemon restarted since), a place not issued yet, or events after
 *   `at` already dropped. It never answers a partial list.
 * - Memory is bounded by `capacity` events and `maxChars` characters of their text (the oldest go
 *   first; the newest is always kept); nothing is allocated before use.
 */
export class RecentEvents implements EventClock {
  /** This clock's identity: a place on it means nothing to another process. */
  readonly id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
  private issued = 0;
  /** The highest `at` dropped: events after it are all here. */
  private droppedTo = 0;
  /** Oldest first: a queue as an array and a head index, compacted when half is dead. */
  private entries: RecentEvent[] = [];
  private head = 0;
  private chars = 0;

  constructor(
    private readonly capacity = RECENT_EVENTS,
    private readonly maxChars = RECENT_EVENT_CHARS,
  ) {}

  next(): number {
    return ++this.issued;
  }

  record(entry: RecentEvent): void {
    if (this.capacity <= 0) {
      this.droppedTo = Math.max(this.droppedTo, entry.at);
      return;
    }
    this.entries.push(entry);
    this.chars += eventChars(entry.event);
    while (
      this.entries.length - this.head > 1 &&
      (this.entries.length - this.head > this.capacity || this.chars > this.maxChars)
    ) {
      const old = this.entries[this.head++] as RecentEvent;
      this.chars -= eventChars(old.event);
      this.droppedTo = Math.max(this.droppedTo, old.at);
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  since(id: string, at: number): RecentEvent[] | undefined {
    if (id !== this.id || !Number.isSafeInteger(at) || at < 0 || at > this.issued || at < this.droppedTo)
      return undefined;
    const out: RecentEvent[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i] as RecentEvent;
      if (e.at > at) out.push(e);
    }
    // A listener may publish into another hub from inside a publish: stamped in order, recorded not.
    return out.sort((a, b) => a.at - b.at);
  }
}
