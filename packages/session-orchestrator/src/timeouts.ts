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
 *
 * Only the time spent waiting for the source counts (not the consumer's time between parts). The hot
 * path is cheap: one abort listener and at most one timer for the whole stream; each part costs one
 * clock read and one promise. The timer is re-armed lazily: when it fires before the current wait's
 * deadline (the wait began later than the timer was set), it is set again for the remaining time.
 */
export function withStreamTimeouts<T>(
  source: AsyncIterable<T>,
  timeouts: StreamTimeouts,
  signal: AbortSignal,
  onStop: (reason: Error) => void,
): AsyncIterableIterator<T> {
  const it = source[Symbol.asyncIterator]();
  const limit = (ms: number) => (Number.isFinite(ms) && ms > 0 ? ms : undefined);
  const firstMs = limit(timeouts.firstTokenMs);
  const idleMs = limit(timeouts.idleMs);
  let first = true;
  /** Settled (source ended, failed, stopped or closed by the consumer): later calls return done. */
  let finished = false;
  let waiting = false;
  let waitStart = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerDue = 0;
  let fail: ((err: Error) => void) | undefined;

  const currentMs = () => (first ? firstMs : idleMs);
  const close = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    signal.removeEventListener("abort", onAbort);
  };
  const closeSource = () => {
    // Close the source without awaiting: a hung provider must not hold the turn.
    Promise.resolve()
      .then(() => it.return?.())
      .catch(() => {});
  };
  const stop = (err: Error) => {
    if (finished) return;
    finished = true;
    close();
    onStop(err);
    closeSource();
    fail?.(err);
  };
  function onAbort() {
    if (waiting) stop(new AbortedError());
  }
  const arm = (at: number) => {
    timerDue = at;
    timer = setTimeout(onTimer, Math.max(1, at - performance.now()));
  };
  function onTimer() {
    timer = undefined;
    const ms = currentMs();
    if (!waiting || ms === undefined) return; // the next wait arms it again
    const due = waitStart + ms;
    if (performance.now() >= due) {
      const what = first ? "the first token" : "the next token";
      const code = first ? "ORCH_FIRST_TOKEN_TIMEOUT" : "ORCH_IDLE_TIMEOUT";
      stop(new TimeoutError(code, `the model sent nothing for ${ms} ms while waiting for ${what}`));
    } else arm(due);
  }
  signal.addEventListener("abort", onAbort);

  const next = (): Promise<IteratorResult<T>> => {
    if (finished) return Promise.resolve({ done: true, value: undefined });
    if (signal.aborted) {
      const err = new AbortedError();
      stop(err);
      return Promise.reject(err);
    }
    const ms = currentMs();
    if (ms !== undefined) {
      waitStart = performance.now();
      // Earlier deadlines need a new timer (the first wait's may be longer than the idle one).
      if (timer === undefined || timerDue > waitStart + ms) {
        if (timer !== undefined) clearTimeout(timer);
        arm(waitStart + ms);
      }
    }
    let pending: Promise<IteratorResult<T>>;
    try {
      pending = it.next();
    } catch (err) {
      finished = true;
      close();
      return Promise.reject(err);
    }
    waiting = true;
    const wait = new Promise<IteratorResult<T>>((resolve, reject) => {
      fail = reject;
      succeed = resolve;
    });
    pending.then(onPart, onFailure);
    return wait;
  };
  // Made once, not per part: the settlement of the wait in progress.
  let succeed: ((r: IteratorResult<T>) => void) | undefined;
  const onPart = (r: IteratorResult<T>) => {
    if (finished) return;
    const resolve = succeed;
    waiting = false;
    fail = undefined;
    succeed = undefined;
    if (r.done) {
      finished = true;
      close();
    } else first = false;
    resolve?.(r);
  };
  const onFailure = (err: unknown) => {
    if (finished) return;
    const reject = fail;
    waiting = false;
    fail = undefined;
    succeed = undefined;
    finished = true;
    close();
    closeSource();
    reject?.(err as Error);
  };

  const iterator: AsyncIterableIterator<T> = {
    next,
    return: (value?: unknown) => {
      if (!finished) {
        finished = true;
        close();
        closeSource();
      }
      return Promise.resolve({ done: true, value: value as T });
    },
    throw: (err?: unknown) => {
      void iterator.return?.();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
