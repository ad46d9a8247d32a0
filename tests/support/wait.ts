/**
 * Waiting on signals with timeouts that say what was awaited. `pollUntil` is for state that has no
 * event to listen to (a file appearing, another process's memory): it re-checks on a short interval and
 * fails with the last observation when the deadline passes.
 */

/** Generous default: the machine is a busy 2-core box; a wait this long has failed anyway. */
export const WAIT_MS = 15_000;

export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
}

/** Resolves with `check()`'s first non-undefined value; rejects after `timeoutMs` naming `what`. */
export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  opts: { intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  const interval = opts.intervalMs ?? 20;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) {
      const extra = opts.describe ? ` (${opts.describe()})` : "";
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await Bun.sleep(interval);
  }
}

/** A promise with its resolve/reject, for bridging callbacks to awaits. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Pure: a small seeded PRNG (mulberry32), so random kill points and loads are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed in environment variable `name` when set (to replay a failure), else the fixed `fallback`. */
export function seedFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : fallback;
}
