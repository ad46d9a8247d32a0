/**
 * Share secrets: `<shareId>.<verifier>` — the id (96 random bits) finds the row, the whole secret's
 * SHA-256 is compared with the stored one in constant time. The verifier alone is 256 bits from the
 * CSPRNG. Minting and hashing use node:crypto; the shape check and the verdict are pure.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ShareRecord } from "@dispatch/conversation-store/contract";
import type { ShareVerdict } from "./contract";

const ID_CHARS = 16;
const VERIFIER_CHARS = 43;
const SECRET_RE = new RegExp(`^([A-Za-z0-9_-]{${ID_CHARS}})\\.([A-Za-z0-9_-]{${VERIFIER_CHARS}})$`);

/** A fresh share: its id and its secret. */
export function mintShare(): { shareId: string; secret: string } {
  const shareId = randomBytes(12).toString("base64url");
  return { shareId, secret: `${shareId}.${randomBytes(32).toString("base64url")}` };
}

/** SHA-256 of the secret, lower-case hex. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Pure: the share id a well-formed secret names, or undefined. */
export function secretShareId(secret: string): string | undefined {
  return SECRET_RE.exec(secret)?.[1];
}

/** Constant-time equality of two hex hashes of the same length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const MALFORMED = `the share secret is malformed: expected ${ID_CHARS} characters, a dot and ${VERIFIER_CHARS} more (was the link cut short?)`;
const BAD = "the share secret is not valid (forged, mistyped, or of a deleted share)";

/**
 * The verdict on a presented secret, given the row its id names (undefined: none). A wrong secret
 * for a real id is the same answer as an unknown id; revoked and expired are told only to a holder
 * of the right secret.
 */
export function verdict(secret: string, row: ShareRecord | undefined, now: number): ShareVerdict {
  if (secretShareId(secret) === undefined)
    return { ok: false, code: "SHARE_MALFORMED_SECRET", message: MALFORMED };
  // Hash even without a row, so an unknown id costs the same as a wrong secret.
  const presented = hashSecret(secret);
  if (row === undefined || !sameHash(presented, row.secretHash))
    return { ok: false, code: "SHARE_BAD_SECRET", message: BAD };
  if (row.revokedAt !== undefined)
    return {
      ok: false,
      code: "SHARE_REVOKED",
      message: `this share was revoked (${new Date(row.revokedAt).toISOString()})`,
    };
  if (row.expiresAt <= now)
    return {
      ok: false,
      code: "SHARE_EXPIRED",
      message: `this share expired at ${new Date(row.expiresAt).toISOString()}`,
    };
  return { ok: true, shareId: row.shareId, conversationId: row.conversationId, expiresAt: row.expiresAt };
}
