import { KernelError } from "./contract";

/** setTimeout's largest delay. Longer ones (and Infinity) would fire at once, so they mean "no timeout". */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type Outcome =
  | { ok: true }
  | { ok: false; timedOut: false; error: unknown }
  | { ok: false; timedOut: true; late: Promise<unknown> };

/**
 * Runs `fn` (sync or async) and settles with its outcome or a timeout, whichever comes first. A
 * synchronous throw is a failure like a rejection. On timeout `late` is the still-running work.
 */
export async function runWithTimeout(fn: () => void | Promise<void>, ms: number): Promise<Outcome> {
  const run = (async () => fn())();
  if (ms > MAX_TIMER_MS) {
    try {
      await run;
      return { ok: true };
    } catch (error) {
      return { ok: false, timedOut: false, error };
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    const winner = await Promise.race([run.then(() => "done" as const), timeout]);
    return winner === "done" ? { ok: true } : { ok: false, timedOut: true, late: run };
  } catch (error) {
    return { ok: false, timedOut: false, error };
  } finally {
    clearTimeout(timer);
  }
}

/** Pure: `ms` when it is a usable timeout (Infinity = none), else a KERNEL_INVALID_OPTIONS error naming `option`. */
export function checkTimeout(option: string, ms: number | undefined, fallback: number): number {
  if (ms === undefined) return fallback;
  if (typeof ms !== "number" || Number.isNaN(ms) || ms <= 0) {
    throw new KernelError(
      "KERNEL_INVALID_OPTIONS",
      `${option} must be a positive number of milliseconds, or Infinity for none (got ${String(ms)})`,
    );
  }
  return ms;
}

/** The error recorded for work that did not finish in time; a later failure of that work is dropped. */
export function timedOut(late: Promise<unknown>, ms: number): Error {
  late.then(undefined, () => {});
  return new Error(`did not finish within ${ms} ms`);
}
