/**
 * The shells' side of share admission: find the secret a request presents (connection-policy's
 * `shareCredential`, pure) and ask `Shares.verify` about it, as the policy's `BrowserFacts.share`.
 * The secret goes no further: the policy sees only the verdict.
 */
import { type ShareCheck, shareCredential } from "@dispatch/connection-policy";
import type { ShareRequest, Shares } from "./contract";

/** The verdict on the request's share secret for `address` (the peer IP); undefined without one. */
export function shareCheck(
  shares: Pick<Shares, "verify">,
  req: ShareRequest,
  address: string | undefined,
): ShareCheck | undefined {
  const secret = shareCredential(req.headers, req.method, req.url);
  if (secret === undefined) return undefined;
  const v = shares.verify(secret, address ?? "unknown");
  if (v.ok) return { ok: true, shareId: v.shareId, conversationId: v.conversationId };
  const check: ShareCheck = { ok: false, rateLimited: v.code === "SHARE_RATE_LIMITED", message: v.message };
  return v.retryAfterSec === undefined ? check : { ...check, retryAfterSec: v.retryAfterSec };
}
