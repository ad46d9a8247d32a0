/**
 * Waits for `promise`, failing with a message that names what was awaited when it takes longer than
 * `timeoutMs`. Tests wait on signals through this, never on sleeps.
 */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A counter whose future values can be awaited: `await counter.reach(2, 5000, "two aborts")`. */
export class Counter {
  #value = 0;
  #waiters: { target: number; resolve: () => void }[] = [];

  get value(): number {
    return this.#value;
  }

  increment(): void {
    this.#value++;
    const ready = this.#waiters.filter((w) => w.target <= this.#value);
    this.#waiters = this.#waiters.filter((w) => w.target > this.#value);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the value is at least `target`; rejects after `timeoutMs` naming `what`. */
  reach(target: number, timeoutMs: number, what: string): Promise<void> {
    if (this.#value >= target) return Promise.resolve();
    const reached = new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
    return withTimeout(reached, timeoutMs, `${what} (have ${this.#value}, want ${target})`);
  }
}

/** Drains an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Runs `fn` and returns what it threw (or rejected with); fails when it did not throw. */
export async function captureError(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure, but the call succeeded");
}
