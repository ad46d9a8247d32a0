/** Why a provider stream or a tool was cut short by the turn loop's own clock. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  constructor(
    readonly code: "ORCH_FIRST_TOKEN_TIMEOUT" | "ORCH_IDLE_TIMEOUT" | "ORCH_TOOL_TIMEOUT",
    message: string,
  ) {
    super(message);
  }
}

/** Thrown out of a guarded wait when the turn's signal aborts. */
export class AbortedError extends Error {
  override readonly name = "AbortedError";
  constructor(message = "aborted") {
    super(message);
  }
}

/**
 * Resolves with `promise`, or rejects with `onTimeout()` after `ms`, or with AbortedError when `signal`
 * aborts, whichever comes first. The timer is always cleared. `ms <= 0` or non-finite means no timeout.
 */
export function guard<T>(
  promise: Promise<T>,
  opts: { ms?: number; onTimeout?: () => Error; signal?: AbortSignal },
): Promise<T> {
  const { ms, onTimeout, signal } = opts;
  if (signal?.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AbortedError());
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => finish(() => reject(new AbortedError()));
    const finish = (act: () => void) => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      act();
    };
    if (ms !== undefined && Number.isFinite(ms) && ms > 0) {
      timer = setTimeout(
        () => finish(() => reject(onTimeout ? onTimeout() : new Error(`timed out after ${ms} ms`))),
        ms,
      );
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}

/** Waits `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return guard(new Promise<void>((r) => setTimeout(r, ms)), signal ? { signal } : {});
}

export interface StreamTimeouts {
  /** Longest wait for the first part of the stream. */
  firstTokenMs: number;
  /** Longest wait between two parts after the first. */
  idleMs: number;
}

/**
 * Iterates `source` with a first-part and an inter-part deadline, stopping at once when `signal` aborts
 * even if the source ignores it. On timeout or abort the source iterator is closed (without waiting for
 * it) and `onStop` is called so the caller can abort the underlying request.
 */
export async function* withStreamTimeouts<T>(
  source: AsyncIterable<T>,
  timeouts: StreamTimeouts,
  signal: AbortSignal,
  onStop: (reason: Error) => void,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let first = true;
  let done = false;
  try {
    while (true) {
      const ms = first ? timeouts.firstTokenMs : timeouts.idleMs;
      const code = first ? "ORCH_FIRST_TOKEN_TIMEOUT" : "ORCH_IDLE_TIMEOUT";
      const what = first ? "the first token" : "the next token";
      let r: IteratorResult<T>;
      try {
        r = await guard(it.next(), {
          ms,
          signal,
          onTimeout: () =>
            new TimeoutError(code, `the model sent nothing for ${ms} ms while waiting for ${what}`),
        });
      } catch (err) {
        if (err instanceof TimeoutError || err instanceof AbortedError) onStop(err);
        throw err;
      }
      if (r.done) {
        done = true;
        return;
      }
      first = false;
      yield r.value;
    }
  } finally {
    if (!done) {
      // Close the source without awaiting: a hung provider must not hold the turn.
      Promise.resolve()
        .then(() => it.return?.())
        .catch(() => {});
    }
  }
}
