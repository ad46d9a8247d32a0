import { type Disposer, KernelError, type Scope } from "./contract";
import { runWithTimeout, timedOut } from "./timeout";

/** Wraps `fn` so it runs at most once; later calls return the first call's result. */
export function once(fn: Disposer): Disposer {
  let done = false;
  let result: void | Promise<void>;
  return () => {
    if (!done) {
      done = true;
      result = fn();
    }
    return result;
  };
}

/**
 * An extension's scope: every registration it makes is recorded here. `dispose()` runs the disposers
 * in reverse registration order, runs every one even when some throw or hang (each gets `timeoutMs`),
 * and returns the failures.
 */
export class ExtensionScope implements Scope {
  private readonly entries = new Set<Disposer>();
  private disposed = false;

  constructor(
    private readonly owner: string,
    private readonly timeoutMs: number,
  ) {}

  /** Throws KERNEL_CONTEXT_REVOKED once the scope has been disposed. */
  assertOpen(): void {
    if (this.disposed) {
      throw new KernelError(
        "KERNEL_CONTEXT_REVOKED",
        `extension "${this.owner}" registered something after its scope was disposed (it was disabled or stopped)`,
        { extensionId: this.owner },
      );
    }
  }

  add(disposer: Disposer): Disposer {
    this.assertOpen();
    const entry = once(() => {
      this.entries.delete(entry);
      return disposer();
    });
    this.entries.add(entry);
    return entry;
  }

  async dispose(): Promise<unknown[]> {
    this.disposed = true;
    const errors: unknown[] = [];
    for (const entry of [...this.entries].reverse()) {
      const outcome = await runWithTimeout(entry, this.timeoutMs);
      if (!outcome.ok) errors.push(outcome.timedOut ? timedOut(outcome.late, this.timeoutMs) : outcome.error);
    }
    return errors;
  }
}
