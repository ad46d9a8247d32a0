/**
 * Batching (PROTOCOL.md §8, `batchMs` in `hello`) — the window logic, pure: time comes from an
 * injected clock, so it is tested without waiting and every transport (the daemon's WebSocket, a
 * relay) batches the same way.
 *
 * Guarantees:
 * - Items of one group (a turn: conversation + turn id) that arrive within `windowMs` of the first
 *   leave together, in arrival order, as one flush.
 * - An item of another group flushes the pending batch first, so order across groups is kept.
 * - `flush()` sends what is pending now (a transport calls it before writing any other frame to the
 *   same consumer, which keeps the order of everything it sends); `dispose()` drops the timer.
 * - A batch never holds more than `maxItems` items (it is flushed when full).
 * - Every item pushed is flushed exactly once, unless disposed first.
 */

export interface BatchTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: BatchTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Largest `batchMs` a client may ask for (the protocol's bound). */
export { MAX_BATCH_MS } from "@dispatch/protocol";
/** Items in one batch before it is flushed early. */
export const DEFAULT_MAX_BATCH_ITEMS = 512;

export class Batcher<T> {
  private items: T[] = [];
  private group: string | undefined;
  private timer: unknown;

  constructor(
    private readonly windowMs: number,
    private readonly send: (items: T[]) => void,
    private readonly timers: BatchTimers = realTimers,
    private readonly maxItems = DEFAULT_MAX_BATCH_ITEMS,
  ) {}

  get pending(): number {
    return this.items.length;
  }

  push(group: string, item: T): void {
    if (this.items.length > 0 && group !== this.group) this.flush();
    this.group = group;
    this.items.push(item);
    if (this.items.length >= this.maxItems) {
      this.flush();
      return;
    }
    if (this.items.length === 1) this.timer = this.timers.set(() => this.flush(), this.windowMs);
  }

  flush(): void {
    if (this.timer !== undefined) {
      this.timers.clear(this.timer);
      this.timer = undefined;
    }
    if (this.items.length === 0) return;
    const out = this.items;
    this.items = [];
    this.group = undefined;
    this.send(out);
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.items = [];
  }
}
