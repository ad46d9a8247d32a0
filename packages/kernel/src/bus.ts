import type { EventHandle, Logger } from "./contract";

interface Listener {
  owner: string;
  fn: (payload: never) => unknown;
  live: boolean;
}

/** Pure: describes a thrown value for logs and messages. */
export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Events, keyed by handle identity. Handlers are isolated: a throwing (or rejecting) handler is logged
 * with the id of the extension that registered it, and the rest go on.
 */
export class Bus {
  private readonly listeners = new Map<EventHandle<unknown>, Listener[]>();

  constructor(private readonly logger: Logger) {}

  on<T>(owner: string, e: EventHandle<T>, fn: (payload: T) => void): () => void {
    const key = e as EventHandle<unknown>;
    const entry: Listener = { owner, fn: fn as Listener["fn"], live: true };
    this.listeners.set(key, [...(this.listeners.get(key) ?? []), entry]);
    return () => {
      entry.live = false;
      const rest = (this.listeners.get(key) ?? []).filter((l) => l !== entry);
      if (rest.length > 0) this.listeners.set(key, rest);
      else this.listeners.delete(key);
    };
  }

  /** Synchronous; a handler removed by an earlier handler during the same emit is not called. */
  emit<T>(e: EventHandle<T>, payload: T): void {
    for (const l of this.listeners.get(e as EventHandle<unknown>) ?? []) {
      if (!l.live) continue;
      try {
        const out = (l.fn as (p: T) => unknown)(payload);
        if (isThenable(out)) out.then(undefined, (err) => this.reportHandler(l.owner, e.id, err));
      } catch (err) {
        this.reportHandler(l.owner, e.id, err);
      }
    }
  }

  private reportHandler(owner: string, event: string, err: unknown): void {
    this.logger.error("event handler threw", { ext: owner, event, error: describeError(err) });
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}
