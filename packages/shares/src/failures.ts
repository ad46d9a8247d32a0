/**
 * Pure: the per-address budget of wrong share secrets. A fixed window per address; past `max`
 * failures in it, the address is refused until the window ends. Bounded: at most `maxAddresses`
 * addresses are tracked (the oldest window is forgotten first).
 */
export interface FailureBudget {
  /** Wrong secrets an address may present per window. */
  max: number;
  windowMs: number;
  maxAddresses: number;
}

export const DEFAULT_FAILURE_BUDGET: FailureBudget = { max: 10, windowMs: 60_000, maxAddresses: 10_000 };

interface Window {
  start: number;
  failures: number;
}

export class FailureCounter {
  readonly #byAddress = new Map<string, Window>();
  constructor(private readonly budget: FailureBudget = DEFAULT_FAILURE_BUDGET) {}

  /** Seconds until `address` may try again, or 0 when it may now. */
  blockedFor(address: string, now: number): number {
    const w = this.#byAddress.get(address);
    if (w === undefined || now - w.start >= this.budget.windowMs) return 0;
    if (w.failures < this.budget.max) return 0;
    return Math.max(1, Math.ceil((w.start + this.budget.windowMs - now) / 1000));
  }

  /** Counts one wrong secret from `address`. */
  fail(address: string, now: number): void {
    let w = this.#byAddress.get(address);
    if (w === undefined || now - w.start >= this.budget.windowMs) {
      this.#byAddress.delete(address);
      w = { start: now, failures: 0 };
      if (this.#byAddress.size >= this.budget.maxAddresses) {
        const oldest = this.#byAddress.keys().next().value;
        if (oldest !== undefined) this.#byAddress.delete(oldest);
      }
      this.#byAddress.set(address, w);
    }
    w.failures++;
  }
}
