/**
 * Routes outside the table: `/pairings` (needs the daemon's token), `/pair` and the web root (public,
 * after the Host and Origin checks). Answers undefined when the request is none of these.
 */
import { type BrowserFacts, type ConnectionPolicy, checkHostAndOrigin } from "@dispatch/connection-policy";
import { VIEWER_ASSET_PREFIX, viewerAsset, viewerPage } from "@dispatch/viewer-page";
import type { BunRequest, Server } from "bun";
import { admit } from "./admission";
import { errorResponse } from "./errors";
import { createPairing, listPairings, type PairingDeps, redeemPairing, revokePairing } from "./pairing";
import { allowedMethods } from "./route-match";
import { serveStatic } from "./static";
import type { MethodTable } from "./unrouted";
import { rawPathname, withCors } from "./urls";

export interface SpecialDeps {
  /** The WebSocket port a viewer page connects to; undefined = the page's own origin. */
  wsPort?(): number | undefined;
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
    const viewer = isRead ? viewerRoute(pathname) : undefined;
    if (viewer !== undefined) {
      // Public like /pair: the page holds no data; the secret stays in its fragment.
      const base = checkHostAndOrigin(d.policy(), req.headers);
      if (!base.ok) return errorResponse({ status: base.status, code: base.code, message: base.message });
      return viewerResponse(viewer, req, d.wsPort?.());
    }
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

/** Pure: which viewer file a path names: the page (`/s/<shareId>`) or an asset (`/viewer/<name>`). */
export function viewerRoute(pathname: string): { page: true } | { asset: string } | undefined {
  if (/^\/s\/[A-Za-z0-9_-]{1,64}\/?$/.test(pathname)) return { page: true };
  if (pathname.startsWith(VIEWER_ASSET_PREFIX)) return { asset: pathname.slice(VIEWER_ASSET_PREFIX.length) };
  return undefined;
}

function viewerResponse(
  route: { page: true } | { asset: string },
  req: Request,
  wsPort: number | undefined,
): Response {
  if ("asset" in route) {
    const a = viewerAsset(route.asset);
    if (a === undefined)
      return errorResponse({
        status: 404,
        code: "HTTP_NOT_FOUND",
        message: `no viewer file "${route.asset}"`,
      });
    return new Response(req.method === "HEAD" ? null : a.body, { headers: a.headers });
  }
  const host = new URL(req.url).hostname;
  const name = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const page = viewerPage(wsPort === undefined ? {} : { wsUrl: `ws://${name}:${wsPort}` });
  return new Response(req.method === "HEAD" ? null : page.html, { headers: page.headers });
}
