import {
  type AdmittedVia,
  type BrowserFacts,
  type ConnectionPolicy,
  checkConnection,
  type HeaderSource,
} from "@dispatch/connection-policy";
import type { HttpFailure } from "./errors";

/**
 * Pure: what to do with a request before any route runs. The connection policy (shared with the WS
 * port) decides Host, Origin and token; a CORS preflight is answered here. Browsers never send
 * credentials on a preflight, so a preflight from an allowed origin passes without the token: the real
 * request that follows is checked in full.
 */
export type Admission =
  | {
      kind: "proceed";
      via: AdmittedVia | "public";
      origin?: string;
      /** Admitted through a share secret: a viewer of this conversation only. */
      share?: { shareId: string; conversationId: string };
    }
  | { kind: "preflight"; origin: string }
  | { kind: "deny"; failure: HttpFailure; origin?: string };

export interface AdmitOptions {
  /**
   * The route is public (liveness, documents, metrics) and the peer is on loopback: a request without
   * any token passes. Host and Origin are still checked (DNS rebinding), and a wrong token still fails.
   */
  tokenOptional?: boolean;
}

export function admit(
  policy: ConnectionPolicy,
  method: string,
  headers: HeaderSource,
  facts?: BrowserFacts,
  opts: AdmitOptions = {},
): Admission {
  const origin = headers.get("origin")?.trim();
  const isPreflight =
    method.toUpperCase() === "OPTIONS" &&
    origin !== undefined &&
    headers.get("access-control-request-method") !== null;
  const decision = checkConnection(policy, headers, facts);
  if (decision.ok) {
    if (isPreflight && decision.origin !== undefined) return { kind: "preflight", origin: decision.origin };
    const proceed: Admission = { kind: "proceed", via: decision.via };
    if (decision.origin !== undefined) proceed.origin = decision.origin;
    if (decision.share !== undefined) proceed.share = decision.share;
    return proceed;
  }
  // The policy checks Host and Origin before the token, so a missing token here means both passed.
  if (opts.tokenOptional && decision.code === "POLICY_TOKEN_REQUIRED") {
    return origin === undefined
      ? { kind: "proceed", via: "public" }
      : { kind: "proceed", via: "public", origin };
  }
  const failure: HttpFailure = { status: decision.status, code: decision.code, message: decision.message };
  if (decision.retryAfterSec !== undefined) failure.retryAfterSec = decision.retryAfterSec;
  const tokenProblem = decision.status === 401 || decision.status === 429;
  if (isPreflight && (decision.code === "POLICY_TOKEN_REQUIRED" || decision.code === "POLICY_BAD_SESSION"))
    return { kind: "preflight", origin: origin as string };
  // Host and Origin refusals say nothing more; a token refusal to an allowed origin is readable by its page.
  if (tokenProblem && origin !== undefined) return { kind: "deny", failure, origin };
  return { kind: "deny", failure };
}

const tokenHolders = new WeakSet<Request>();

/** Records that `req` presented the daemon's token (the guard does, after `admit`). */
export function markTokenHolder(req: Request): void {
  tokenHolders.add(req);
}

/** True when `req` presented the daemon's token (not merely an allow-listed Origin). */
export function heldToken(req: Request): boolean {
  return tokenHolders.has(req);
}

/** Seconds a browser may cache a preflight answer. */
export const PREFLIGHT_MAX_AGE = "600";

/**
 * Routes reachable without the token from loopback: they hold no conversation data or secrets (liveness,
 * the API documents, aggregate metrics whose labels are model names, routes and error codes). Kept here,
 * apart from the connection policy, so the policy stays one rule for both ports.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  "/health",
  "/openapi.json",
  "/protocol.json",
  "/metrics",
]);
