/**
 * The share service: mints, lists and revokes shares over the store's `ShareStore`, checks presented
 * secrets (with the per-address budget of wrong ones), and holds the live viewers of every share so
 * that revocation and expiry close them with 4403 at once. Expiry is one timer, set for the earliest
 * expiry among shares that have live viewers (a share nobody watches needs no timer: its next request
 * is refused by `verify`).
 */
import type { ShareRecord, ShareStore } from "@dispatch/conversation-store/contract";
import { DEFAULT_SHARE_EXPIRES_SEC, MAX_SHARE_EXPIRES_SEC } from "@dispatch/protocol";
import { shareCheck } from "./admission";
import {
  type CreatedShare,
  type LiveViewer,
  SHARE_ENDED_CLOSE_CODE,
  type ShareInfo,
  type ShareResult,
  type Shares,
  type ShareVerdict,
} from "./contract";
import { DEFAULT_FAILURE_BUDGET, type FailureBudget, FailureCounter } from "./failures";
import { hashSecret, mintShare, secretShareId, verdict } from "./secret";

export interface SharesOptions {
  store: Pick<ShareStore, "createShare" | "getShare" | "listShares" | "listUnexpiredShares" | "revokeShare">;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
  budget?: FailureBudget;
}

/** setTimeout's longest delay; a later expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Live {
  expiresAt: number;
  viewers: Set<LiveViewer>;
}

export interface SharesService extends Shares {
  /** Stops the expiry timer (the extension's scope calls it). */
  dispose(): void;
}

export function createShares(opts: SharesOptions): SharesService {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const failures = new FailureCounter(opts.budget ?? DEFAULT_FAILURE_BUDGET);
  const live = new Map<string, Live>();
  const listeners = new Set<(share: ShareRecord) => void>();
  const changed = (share: ShareRecord) => {
    for (const l of [...listeners]) {
      try {
        l(share);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt: number | undefined;

  const closeAll = (entry: Live, reason: string) => {
    for (const v of [...entry.viewers]) {
      try {
        v.close(SHARE_ENDED_CLOSE_CODE, reason);
      } catch {
        // A viewer that cannot be closed is gone already.
      }
    }
  };

  function schedule(): void {
    let next: number | undefined;
    for (const e of live.values()) if (next === undefined || e.expiresAt < next) next = e.expiresAt;
    if (next === timerAt) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    timerAt = next;
    if (next === undefined) return;
    timer = setTimeout(expire, Math.min(MAX_TIMER_MS, Math.max(0, next - now())));
    (timer as { unref?: () => void }).unref?.();
  }

  function expire(): void {
    timer = undefined;
    timerAt = undefined;
    const t = now();
    for (const [id, e] of [...live]) {
      if (e.expiresAt > t) continue;
      live.delete(id);
      closeAll(e, "share expired");
    }
    schedule();
  }

  const service: SharesService = {
    create(conversationId, o): ShareResult<CreatedShare> {
      const secs = o.expiresInSec ?? DEFAULT_SHARE_EXPIRES_SEC;
      if (!Number.isInteger(secs) || secs < 1 || secs > MAX_SHARE_EXPIRES_SEC)
        return {
          ok: false,
          error: {
            code: "PROTOCOL_INVALID_FIELD",
            message: `expiresInSec: must be an integer from 1 to ${MAX_SHARE_EXPIRES_SEC} (30 days)`,
          },
        };
      const { shareId, secret } = mintShare();
      const createdAt = now();
      const expiresAt = createdAt + secs * 1000;
      const row = { shareId, conversationId, secretHash: hashSecret(secret), createdAt, expiresAt };
      const r = store.createShare(o.label === undefined ? row : { ...row, label: o.label });
      if (!r.ok) return r;
      changed(r.value);
      return { ok: true, value: { shareId, conversationId, secret, createdAt, expiresAt } };
    },

    list(conversationId): ShareInfo[] {
      const t = now();
      return store
        .listShares(conversationId)
        .filter((s) => s.revokedAt === undefined && s.expiresAt > t)
        .map((s) => {
          const info: ShareInfo = {
            shareId: s.shareId,
            createdAt: s.createdAt,
            expiresAt: s.expiresAt,
            viewers: live.get(s.shareId)?.viewers.size ?? 0,
          };
          if (s.label !== undefined) info.label = s.label;
          return info;
        });
    },

    revoke(shareId) {
      const r = store.revokeShare(shareId, now());
      if (!r.ok) {
        if (r.error.code === "STORE_UNKNOWN_SHARE")
          return { ok: false, error: { code: "SHARE_UNKNOWN", message: `unknown share "${shareId}"` } };
        return r;
      }
      const entry = live.get(shareId);
      if (entry !== undefined) {
        live.delete(shareId);
        closeAll(entry, "share revoked");
        schedule();
      }
      changed(r.value);
      return { ok: true, value: { shareId, revoked: true } };
    },

    verify(secret, address): ShareVerdict {
      const t = now();
      const wait = failures.blockedFor(address, t);
      if (wait > 0)
        return {
          ok: false,
          code: "SHARE_RATE_LIMITED",
          message: `too many wrong share secrets from this address; try again in ${wait} s`,
          retryAfterSec: wait,
        };
      const id = secretShareId(secret);
      const v = verdict(secret, id === undefined ? undefined : store.getShare(id), t);
      if (!v.ok && (v.code === "SHARE_MALFORMED_SECRET" || v.code === "SHARE_BAD_SECRET"))
        failures.fail(address, t);
      return v;
    },

    check(req, address) {
      return shareCheck(service, req, address);
    },

    attach(shareId, viewer) {
      const row = store.getShare(shareId);
      if (row === undefined || row.revokedAt !== undefined || row.expiresAt <= now()) {
        viewer.close(
          SHARE_ENDED_CLOSE_CODE,
          row?.revokedAt !== undefined ? "share revoked" : "share expired",
        );
        return () => {};
      }
      let entry = live.get(shareId);
      if (entry === undefined) {
        entry = { expiresAt: row.expiresAt, viewers: new Set() };
        live.set(shareId, entry);
        schedule();
      }
      const mine = entry;
      mine.viewers.add(viewer);
      return () => {
        mine.viewers.delete(viewer);
        if (mine.viewers.size === 0 && live.get(shareId) === mine) {
          live.delete(shareId);
          schedule();
        }
      };
    },

    viewers: (shareId) => live.get(shareId)?.viewers.size ?? 0,

    records: () => store.listUnexpiredShares(now()),

    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      timerAt = undefined;
      live.clear();
      listeners.clear();
    },
  };
  return service;
}
