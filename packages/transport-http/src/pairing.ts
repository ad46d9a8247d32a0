/**
 * Pairing (PROTOCOL.md §1): `POST /pairings` (token only) mints a one-time code and the URL to open;
 * `GET /pair?code=…` (public: the code is the credential) redeems it, sets the HttpOnly SameSite=Strict
 * session cookie and redirects to `/`; `GET /pairings` lists sessions and `DELETE /pairings/:id`
 * revokes one (token only). Cookies are per host, not port, so the cookie also admits the WS upgrade.
 */
import { type BrowserSessions, sessionSetCookie } from "@dispatch/connection-policy/io";
import { errorResponse } from "./errors";

export interface PairingDeps {
  sessions: BrowserSessions;
  /** The host name to put in pairing URLs when the request does not name one. */
  publicHost: (requestHost: string) => string;
  port: () => number;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** Pure: the host of a pairing URL, from the bind address, the allowed names and the request. */
export function pairingHost(bindHost: string, allowedHosts: readonly string[], requestHost: string): string {
  const wildcard = ["0.0.0.0", "::", "[::]", ""].includes(bindHost.trim());
  const first = allowedHosts[0];
  if (first !== undefined) return first;
  if (!wildcard) return bindHost.includes(":") && !bindHost.startsWith("[") ? `[${bindHost}]` : bindHost;
  return requestHost;
}

/** `POST /pairings` body: `{ host? }` names the host the browser will use. */
export async function createPairing(deps: PairingDeps, req: Request, requestHost: string): Promise<Response> {
  let host: string | undefined;
  const text = await req.text();
  if (text.trim() !== "") {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return errorResponse({
        status: 400,
        code: "HTTP_INVALID_BODY",
        message: "body must be JSON: { host? }",
      });
    }
    const h = (body as { host?: unknown } | null)?.host;
    if (h !== undefined && (typeof h !== "string" || !/^[A-Za-z0-9.:[\]-]{1,253}$/.test(h)))
      return errorResponse({ status: 400, code: "HTTP_INVALID_BODY", message: "host must be a host name" });
    host = h;
  }
  const { code, expiresAt } = deps.sessions.createPairing();
  const name = host ?? deps.publicHost(requestHost);
  return json({
    code,
    expiresAt,
    url: `http://${name}:${deps.port()}/pair?code=${encodeURIComponent(code)}`,
  });
}

/** `GET /pair?code=…`: redeem, set the cookie, go to `/`. */
export function redeemPairing(deps: PairingDeps, req: Request): Response {
  const code = new URL(req.url).searchParams.get("code");
  if (code === null || code === "")
    return errorResponse({
      status: 400,
      code: "PAIR_CODE_INVALID",
      message: "missing ?code=: run `dispatch pair`",
    });
  const r = deps.sessions.redeem(code, req.headers.get("user-agent") ?? "");
  if (!r.ok)
    return errorResponse({
      status: r.code === "PAIR_CODE_INVALID" ? 400 : 410,
      code: r.code,
      message: r.message,
    });
  return new Response(null, {
    status: 303,
    headers: {
      Location: "/",
      "Set-Cookie": sessionSetCookie(r.cookie, r.session.expiresAt - Date.now()),
      "Cache-Control": "no-store",
    },
  });
}

export function listPairings(deps: PairingDeps): Response {
  return json({ sessions: deps.sessions.list() });
}

export function revokePairing(deps: PairingDeps, id: string): Response {
  if (!deps.sessions.revoke(id))
    return errorResponse({ status: 404, code: "PAIR_UNKNOWN_SESSION", message: `no browser session ${id}` });
  return json({ revoked: id });
}
