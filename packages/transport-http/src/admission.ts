import {
  type AdmittedVia,
  type BrowserFacts,
  type ConnectionPolicy,
  checkConnection,
  type HeaderSource,
} from "@dispatch/transport-ws/policy";
import type { HttpFailure } from "./errors";

/**
 * Pure: what to do with a request before any route runs. The connection policy (shared with the WS
 * port) decides Host, Origin and token; a CORS preflight is answered here. Browsers never send
 * credentials on a preflight, so a preflight from an allowed origin passes without the token: the real
 * request that follows is checked in full.
 */
export type Admission =
  | { kind: "proceed"; via: AdmittedVia; origin?: string }
  | { kind: "preflight"; origin: string }
  | { kind: "deny"; failure: HttpFailure; origin?: string };

export function admit(
  policy: ConnectionPolicy,
  method: string,
  headers: HeaderSource,
  facts?: BrowserFacts,
): Admission {
  const origin = headers.get("origin")?.trim();
  const isPreflight =
    method.toUpperCase() === "OPTIONS" &&
    origin !== undefined &&
    headers.get("access-control-request-method") !== null;
  const decision = checkConnection(policy, headers, facts);
  if (decision.ok) {
    if (isPreflight && decision.origin !== undefined) return { kind: "preflight", origin: decision.origin };
    const via = decision.via;
    return decision.origin === undefined
      ? { kind: "proceed", via }
      : { kind: "proceed", via, origin: decision.origin };
  }
  const failure: HttpFailure = { status: decision.status, code: decision.code, message: decision.message };
  const tokenProblem = decision.status === 401;
  if (isPreflight && (decision.code === "POLICY_TOKEN_REQUIRED" || decision.code === "POLICY_BAD_SESSION"))
    return { kind: "preflight", origin: origin as string };
  // Host and Origin refusals say nothing more; a token refusal to an allowed origin is readable by its page.
  if (tokenProblem && origin !== undefined) return { kind: "deny", failure, origin };
  return { kind: "deny", failure };
}

/** Seconds a browser may cache a preflight answer. */
export const PREFLIGHT_MAX_AGE = "600";
