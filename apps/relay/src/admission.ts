/**
 * Who may use a relay: share viewers only, admitted exactly as the daemon admits them — the secret
 * found where connection-policy looks for it (`dispatch.share.<secret>` subprotocol,
 * `Authorization: Share`, `?share=` on a GET), checked by the shares package's own `verdict` against
 * the record the daemon published (its SHA-256, constant-time compare), wrong secrets rate-limited
 * per address with the shares package's `FailureCounter`. Plus the relay's own limit: open
 * connections per address.
 */
import { shareCredential } from "@dispatch/connection-policy";
import { decodeShare, shareKey } from "@dispatch/relay-streams";
import { type FailureBudget, FailureCounter, secretShareId, verdict } from "@dispatch/shares";

export interface Admitted {
  ok: true;
  shareId: string;
  conversationId: string;
  expiresAt: number;
}
export interface Refused {
  ok: false;
  status: number;
  code: string;
  message: string;
  retryAfterSec?: number;
}

export interface AdmissionDeps {
  prefix: string;
  get(key: string): Promise<unknown>;
  budget?: FailureBudget;
  now?: () => number;
}

export const VIEWERS_ONLY =
  "a relay serves share viewers only: present a share secret (the dispatch.share.<secret> subprotocol, Authorization: Share <secret>, or ?share=<secret> on a GET); owner operations do not exist here";

export class Admission {
  readonly #failures: FailureCounter;
  readonly #now: () => number;
  constructor(private readonly deps: AdmissionDeps) {
    this.#failures = new FailureCounter(deps.budget);
    this.#now = deps.now ?? Date.now;
  }

  /** The share a request presents, verified; a coded refusal otherwise (never the secret in it). */
  async check(req: Request, address: string): Promise<Admitted | Refused> {
    const secret = shareCredential(req.headers, req.method, req.url);
    if (secret === undefined)
      return { ok: false, status: 401, code: "RELAY_SHARE_REQUIRED", message: VIEWERS_ONLY };
    const now = this.#now();
    const wait = this.#failures.blockedFor(address, now);
    if (wait > 0)
      return {
        ok: false,
        status: 429,
        code: "SHARE_RATE_LIMITED",
        message: `too many wrong share secrets from ${address}; try again in ${wait} s`,
        retryAfterSec: wait,
      };
    const shareId = secretShareId(secret);
    let row: ReturnType<typeof decodeShare>;
    if (shareId !== undefined) {
      try {
        row = decodeShare(await this.deps.get(shareKey(this.deps.prefix, shareId)));
      } catch {
        return {
          ok: false,
          status: 503,
          code: "RELAY_REDIS_DOWN",
          message: "the relay cannot reach Redis; try again shortly",
        };
      }
    }
    const v = verdict(secret, row, now);
    if (v.ok)
      return { ok: true, shareId: v.shareId, conversationId: v.conversationId, expiresAt: v.expiresAt };
    if (v.code === "SHARE_BAD_SECRET" || v.code === "SHARE_MALFORMED_SECRET")
      this.#failures.fail(address, now);
    return { ok: false, status: 401, code: v.code, message: v.message };
  }
}

/** Open connections per address, bounded. */
export class AddressSlots {
  readonly #open = new Map<string, number>();
  constructor(private readonly max: number) {}
  acquire(address: string): (() => void) | undefined {
    const n = this.#open.get(address) ?? 0;
    if (n >= this.max) return undefined;
    this.#open.set(address, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(address) ?? 1) - 1;
      if (left <= 0) this.#open.delete(address);
      else this.#open.set(address, left);
    };
  }
}
