/**
 * The connection policy of PROTOCOL.md §1 — pure: header facts in, a decision out.
 *
 * Used by every transport (the WebSocket upgrade, the HTTP API). It runs before anything else touches
 * a request: Host (DNS-rebinding defence), Origin allow-list, credentials. No I/O, no Bun or node:
 * imports (purity.test.ts); what needs I/O (the peer socket's owner, the session cookie) comes in as
 * `BrowserFacts`, looked up by the transport (the peer owner through `@dispatch/connection-policy/io`).
 */
import {
  type AdmittedVia,
  type BrowserFacts,
  type ConnectionPolicy,
  type ConnectionPolicyOptions,
  DEFAULT_FRONTEND_ORIGINS,
  type HeaderSource,
  type PolicyDecision,
  type PolicyErrorCode,
} from "./contract";
import {
  bearerToken,
  constantTimeEqual,
  hostName,
  isLoopbackAddress,
  isWebSocketUpgrade,
  isWildcard,
  normalizeOrigin,
  shareSubprotocol,
  tokenSubprotocol,
} from "./headers";

/** Host names that always count as loopback in a `Host` header. */
const LOOPBACK_HOST_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);
const NO_FACTS: BrowserFacts = { peerIsOwner: () => "unknown", session: () => "none" };

/** Pure: resolves options into a policy (defaults merged, everything normalized). */
export function createConnectionPolicy(opts: ConnectionPolicyOptions): ConnectionPolicy {
  const loopbackBind = isLoopbackAddress(opts.bindHost);
  const allowedHosts = new Set((opts.allowedHosts ?? []).map(hostName));
  if (!isWildcard(opts.bindHost)) {
    const bind =
      opts.bindHost.includes(":") && !opts.bindHost.startsWith("[") ? `[${opts.bindHost}]` : opts.bindHost;
    allowedHosts.add(hostName(bind));
  }
  const allowedOrigins = new Set(
    [...DEFAULT_FRONTEND_ORIGINS, ...(opts.allowedOrigins ?? []), ...(opts.httpOrigins ?? [])].map(
      normalizeOrigin,
    ),
  );
  const policy: ConnectionPolicy = {
    loopbackBind,
    allowedHosts,
    allowedOrigins,
    token: opts.token,
    requireTokenForBrowsers: opts.requireTokenForBrowsers === true,
    trustLocalBrowsers: opts.trustLocalBrowsers === true,
  };
  return opts.httpPort === undefined ? policy : { ...policy, httpPort: opts.httpPort };
}

type Denial = Extract<PolicyDecision, { ok: false }>;

function deny(status: 401 | 403 | 426 | 429, code: PolicyErrorCode, message: string): Denial {
  return { ok: false, status, code, message };
}

/** Pure: Host, then Origin — the checks every request passes, public resources included. */
export function checkHostAndOrigin(
  policy: ConnectionPolicy,
  headers: HeaderSource,
): { ok: true; host: string; rawOrigin?: string; origin?: string } | Denial {
  const host = headers.get("host");
  if (host === null || host.trim() === "") return deny(403, "POLICY_BAD_HOST", "missing Host header");
  const name = hostName(host);
  // Only `name` or `name:port`: anything after the name but a port (`localhost:evil.com`) is refused.
  const rest = host.trim().slice(name.length);
  if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return deny(403, "POLICY_BAD_HOST", "malformed Host header");
  if (!LOOPBACK_HOST_NAMES.has(name) && !policy.allowedHosts.has(name)) {
    return deny(403, "POLICY_BAD_HOST", `Host "${name}" is not allowed (add it to allowedHosts)`);
  }
  const rawOrigin = headers.get("origin");
  if (rawOrigin === null) return { ok: true, host: name };
  const origin = normalizeOrigin(rawOrigin);
  if (!policy.allowedOrigins.has(origin) && !isOwnHttpOrigin(policy, origin)) {
    return deny(403, "POLICY_BAD_ORIGIN", `Origin "${rawOrigin}" is not in the allow-list`);
  }
  return { ok: true, host: name, rawOrigin: rawOrigin.trim(), origin };
}

/** Pure: the origin (`scheme://host[:port]`, normalized) of a Referer URL. */
function refererOrigin(referer: string | null): string | undefined {
  const m = referer === null ? null : /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)/i.exec(referer.trim());
  return m === null ? undefined : normalizeOrigin(m[1] as string);
}

/** Pure: an Origin-less request that a browser marks as coming from an allowed page. */
function fromAllowedPage(policy: ConnectionPolicy, headers: HeaderSource): boolean {
  if (headers.get("sec-fetch-site") === "same-origin") return true;
  const referer = refererOrigin(headers.get("referer"));
  return referer !== undefined && (policy.allowedOrigins.has(referer) || isOwnHttpOrigin(policy, referer));
}

/** Pure: `http://<an accepted host name>:<the HTTP port>` — a page the daemon itself served. */
function isOwnHttpOrigin(policy: ConnectionPolicy, origin: string): boolean {
  if (policy.httpPort === undefined) return false;
  const m = /^http:\/\/(.+):(\d+)$/.exec(origin);
  if (m === null || Number(m[2]) !== policy.httpPort) return false;
  const name = m[1] as string;
  return LOOPBACK_HOST_NAMES.has(name) || policy.allowedHosts.has(name);
}

/**
 * Pure: decides whether a request (HTTP or WS upgrade) may proceed: Host, then Origin, then
 * credentials. A wrong token is always refused. Without a token, only an allowed browser Origin can
 * pass, and only through one of (PROTOCOL.md §1):
 * - a valid paired-browser session cookie (any bind);
 * - the local path: loopback bind, a loopback Host, no `requireTokenForBrowsers`, and a peer socket
 *   owned by the daemon's own user (`trustLocalBrowsers` skips that last check, at the documented risk
 *   that any local user can forge an Origin).
 * The facts are asked lazily and at most once each, so the shell does its lookups only when they decide.
 */
export function checkConnection(
  policy: ConnectionPolicy,
  headers: HeaderSource,
  facts: BrowserFacts = NO_FACTS,
): PolicyDecision {
  const base = checkHostAndOrigin(policy, headers);
  if (!base.ok) return base;
  const viaProtocol = tokenSubprotocol(headers.get("sec-websocket-protocol"));
  const offered = [bearerToken(headers.get("authorization")), viaProtocol?.token].filter(
    (t): t is string => t !== undefined,
  );
  let authenticated = false;
  for (const t of offered) if (constantTimeEqual(t, policy.token)) authenticated = true;
  if (offered.length > 0 && !authenticated) return deny(401, "POLICY_BAD_TOKEN", "wrong token");

  let via: AdmittedVia | undefined = authenticated ? "token" : undefined;
  // A share secret (and no token) makes a viewer, whatever else the request could pass as: an
  // explicit credential wins over ambient ones (cookie, local browser).
  const share = authenticated ? undefined : facts.share?.();
  if (share !== undefined) {
    if (!share.ok) {
      if (!share.rateLimited) return deny(401, "POLICY_BAD_SHARE", share.message);
      const limited: Denial = { ...deny(429, "POLICY_SHARE_RATE_LIMITED", share.message) };
      return share.retryAfterSec === undefined ? limited : { ...limited, retryAfterSec: share.retryAfterSec };
    }
    const decision: PolicyDecision = {
      ok: true,
      authenticated: false,
      via: "share",
      share: { shareId: share.shareId, conversationId: share.conversationId },
    };
    if (base.rawOrigin !== undefined) decision.origin = base.rawOrigin;
    const offered = shareSubprotocol(headers.get("sec-websocket-protocol"));
    if (offered !== undefined) decision.subprotocol = offered.subprotocol;
    return decision;
  }
  if (via === undefined) {
    // A page served by the daemon sends no Origin on its same-origin GETs. The browser still says
    // where such a request comes from: `Sec-Fetch-Site: same-origin` (HTTPS and localhost) or a
    // Referer on an allowed origin (plain-HTTP LAN names); a page can set neither. With that evidence
    // the request is treated like one from an allowed origin; the credentials below still decide.
    // (The cookie is SameSite=Strict, so cross-site requests never carry it; a same-site page of
    // another origin sends its own Referer, or none.)
    if (base.origin === undefined && !fromAllowedPage(policy, headers)) {
      return deny(
        401,
        "POLICY_TOKEN_REQUIRED",
        "a token is required: send `Authorization: Bearer <token>` or the `dispatch.token.<token>` subprotocol",
      );
    }
    const session = facts.session();
    if (session === "valid") via = "session";
    else if (policy.loopbackBind && isLoopbackAddress(base.host) && !policy.requireTokenForBrowsers) {
      if (policy.trustLocalBrowsers) via = "trusted";
      else if (facts.peerIsOwner() === true) via = "owner";
    }
    if (via === undefined) {
      const why =
        session === "invalid"
          ? "the browser session is expired, revoked or forged"
          : "this browser is not paired";
      return deny(
        401,
        session === "invalid" ? "POLICY_BAD_SESSION" : "POLICY_TOKEN_REQUIRED",
        `${why}: run \`dispatch pair\` on the daemon's machine and open the URL it prints in this browser (or send the token)`,
      );
    }
  }

  const decision: PolicyDecision = { ok: true, authenticated, via };
  if (base.rawOrigin !== undefined) decision.origin = base.rawOrigin;
  if (viaProtocol !== undefined) decision.subprotocol = viaProtocol.subprotocol;
  return decision;
}

/**
 * Pure: the WS port's decision. A request that is not a WebSocket upgrade gets `426` (compat) before
 * any other check — that answer reveals nothing; everything else goes through `checkConnection`.
 */
export function checkUpgrade(
  policy: ConnectionPolicy,
  method: string,
  headers: HeaderSource,
  facts: BrowserFacts = NO_FACTS,
): PolicyDecision {
  if (!isWebSocketUpgrade(method, headers)) {
    return deny(426, "POLICY_UPGRADE_REQUIRED", "this port only speaks WebSocket; upgrade required");
  }
  return checkConnection(policy, headers, facts);
}
