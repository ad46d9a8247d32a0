/**
 * Routes outside the table: `/pairings` (needs the daemon's token), `/pair` and the web root (public,
 * after the Host and Origin checks). Answers undefined when the request is none of these.
 */
import { type BrowserFacts, type ConnectionPolicy, checkHostAndOrigin } from "@dispatch/connection-policy";
import type { BunRequest, Server } from "bun";
import { admit } from "./admission";
import { errorResponse } from "./errors";
import { createPairing, listPairings, type PairingDeps, redeemPairing, revokePairing } from "./pairing";
import { allowedMethods } from "./route-match";
import { serveStatic } from "./static";
import type { MethodTable } from "./unrouted";
import { rawPathname, withCors } from "./urls";

export interface SpecialDeps {
  policy(): ConnectionPolicy;
  facts(req: Request, server: Server<undefined>): BrowserFacts;
  pairing: PairingDeps;
  webRoot: string | undefined;
  table: MethodTable;
}

export type SpecialRoutes = (
  req: BunRequest,
  server: Server<undefined>,
  pathname: string,
) => Promise<Response | undefined>;

export function specialRoutes(d: SpecialDeps): SpecialRoutes {
  return async (req, server, pathname) => {
    const method = req.method.toUpperCase();
    const pairingsId = /^\/pairings(?:\/([^/]+))?$/.exec(pathname);
    if (pairingsId !== null) return pairings(d, req, server, pathname, pairingsId[1]);
    const isRead = method === "GET" || method === "HEAD";
    const isPair = pathname === "/pair" && isRead;
    const isStatic = d.webRoot !== undefined && isRead && allowedMethods(d.table, pathname) === undefined;
    if (!isPair && !isStatic) return undefined;
    const base = checkHostAndOrigin(d.policy(), req.headers);
    if (!base.ok) return errorResponse({ status: base.status, code: base.code, message: base.message });
    if (isPair) return redeemPairing(d.pairing, req);
    const r = serveStatic(d.webRoot as string, req, rawPathname(req.url));
    return r.ok ? r.response : errorResponse(r.failure);
  };
}

async function pairings(
  d: SpecialDeps,
  req: BunRequest,
  server: Server<undefined>,
  pathname: string,
  id: string | undefined,
): Promise<Response | undefined> {
  const method = req.method.toUpperCase();
  const decision = admit(d.policy(), req.method, req.headers, d.facts(req, server));
  if (decision.kind === "deny") return withCors(errorResponse(decision.failure), decision.origin);
  if (decision.kind === "preflight") return undefined;
  if (decision.via !== "token") {
    const failure = {
      status: 403,
      code: "POLICY_TOKEN_REQUIRED",
      message: "pairing needs the daemon's token",
    };
    return withCors(errorResponse(failure), decision.origin);
  }
  if (id === undefined && method === "POST") return createPairing(d.pairing, req, new URL(req.url).hostname);
  if (id === undefined && method === "GET") return listPairings(d.pairing);
  if (id !== undefined && method === "DELETE") return revokePairing(d.pairing, decodeURIComponent(id));
  return errorResponse({
    status: 405,
    code: "HTTP_METHOD_NOT_ALLOWED",
    message: `${req.method} is not allowed on ${pathname}; use ${id === undefined ? "GET, POST" : "DELETE"}`,
  });
}
