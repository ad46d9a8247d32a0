/**
 * Share links (PROTOCOL.md §8): the `Shares` service both transports (and a relay) admit share
 * viewers through, and the vocabulary of its answers. A share lets whoever holds its secret watch one
 * conversation read-only until it expires or is revoked; the daemon keeps only the secret's SHA-256.
 */
import type { HeaderSource, ShareCheck } from "@dispatch/connection-policy/contract";
import type { ShareRecord } from "@dispatch/conversation-store/contract";
import { defineService } from "@dispatch/kernel";

/** The WebSocket close code of a viewer whose share was revoked or expired. */
export const SHARE_ENDED_CLOSE_CODE = 4403;

export const ShareErrorCodes = [
  /** The secret does not have the share secret's shape (cut short, extra characters). */
  "SHARE_MALFORMED_SECRET",
  /** Well-formed, but no share has it (forged, or a deleted share). */
  "SHARE_BAD_SECRET",
  "SHARE_EXPIRED",
  "SHARE_REVOKED",
  /** Too many wrong secrets from this address lately. */
  "SHARE_RATE_LIMITED",
  /** revoke named a share that does not exist. */
  "SHARE_UNKNOWN",
] as const;
export type ShareErrorCode = (typeof ShareErrorCodes)[number];

/** What a presented secret amounts to. */
export type ShareVerdict =
  | { ok: true; shareId: string; conversationId: string; expiresAt: number }
  | {
      ok: false;
      code: Exclude<ShareErrorCode, "SHARE_UNKNOWN">;
      message: string;
      /** For SHARE_RATE_LIMITED: seconds until the address may try again. */
      retryAfterSec?: number;
    };

/** A new share: the only time its secret exists outside the client. */
export interface CreatedShare {
  shareId: string;
  conversationId: string;
  secret: string;
  createdAt: number;
  expiresAt: number;
}

/** A live share as listed. */
export interface ShareInfo {
  shareId: string;
  label?: string;
  createdAt: number;
  expiresAt: number;
  /** Open viewer connections (every transport's). */
  viewers: number;
}

/** A live viewer connection, closed by the service when its share ends. */
export interface LiveViewer {
  close(code: number, reason: string): void;
}

/** The request facts a share check reads (a fetch `Request` satisfies it). */
export interface ShareRequest {
  headers: HeaderSource;
  method: string;
  url: string;
}

/** A coded failure (the operations core's `OpResult` shape). */
export type ShareResult<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

export interface Shares {
  /** A new share of an existing conversation (STORE_UNKNOWN_CONVERSATION otherwise). */
  create(conversationId: string, opts: { expiresInSec?: number; label?: string }): ShareResult<CreatedShare>;
  /** The conversation's live shares, oldest first. */
  list(conversationId: string): ShareInfo[];
  /** Revokes the share and closes its viewers with 4403 (SHARE_UNKNOWN for an unknown id). Idempotent. */
  revoke(shareId: string): ShareResult<{ shareId: string; revoked: true }>;
  /**
   * Checks a presented secret, in constant time against the stored hash. Wrong secrets count against
   * `address` (the peer's IP); past the budget every secret from it is SHARE_RATE_LIMITED for a while.
   */
  verify(secret: string, address: string): ShareVerdict;
  /**
   * The share secret a request presents (subprotocol, `Authorization: Share`, `?share=` on a GET),
   * verified for `address`, as connection-policy's `BrowserFacts.share` wants it; undefined when the
   * request presents none. The shells' one call: the secret goes no further.
   */
  check(req: ShareRequest, address: string | undefined): ShareCheck | undefined;
  /**
   * Registers a live viewer of `shareId` (its count shows in `list`); it is closed with 4403 when the
   * share is revoked or expires (a timer for the next expiry, not polling). A share that already
   * ended closes it at once. The returned function unregisters it (call it when it closes).
   */
  attach(shareId: string, viewer: LiveViewer): () => void;
  /** Open viewers of a share. */
  viewers(shareId: string): number;
  /**
   * Every share not yet expired, revoked ones included, as stored: the secret's SHA-256 (`secretHash`,
   * hex), never the secret. For relays, which verify secrets the same way (`hashSecret`).
   */
  records(): ShareRecord[];
  /** Called with the stored row after a share is created or revoked. Returns the unsubscribe. */
  onChange(listener: (share: ShareRecord) => void): () => void;
}
export const Shares = defineService<Shares>("shares/shares");

export const SHARES_EXTENSION_ID = "shares";
