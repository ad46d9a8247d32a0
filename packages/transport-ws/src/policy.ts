/**
 * The connection policy of PROTOCOL.md §1 — pure: header facts in, a decision out.
 *
 * Shared by the WebSocket upgrade (this package) and the HTTP API (transport-http). It runs before
 * anything else touches a request: Host (DNS-rebinding defence), Origin allow-list, credentials. No
 * I/O, no Bun or node: imports; what needs I/O (the peer socket's owner, the session cookie) comes in
 * as `BrowserFacts`.
 */

/** The frontend's dev origins, allowed by default (compat). */
export const DEFAULT_FRONTEND_ORIGINS: readonly string[] = [
  "http://localhost:24204",
  "https://localhost:24204",
  "http://127.0.0.1:24204",
  "https://127.0.0.1:24204",
];

/** Host names that always count as loopback in a `Host` header. */
const LOOPBACK_HOST_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries the token for browser WebSockets. */
export const TOKEN_SUBPROTOCOL_PREFIX = "dispatch.token.";

export const PolicyErrorCodes = [
  "POLICY_BAD_HOST",
  "POLICY_BAD_ORIGIN",
  "POLICY_TOKEN_REQUIRED",
  "POLICY_BAD_TOKEN",
  "POLICY_UPGRADE_REQUIRED",
  /** A session cookie was sent but is unknown, expired or revoked. */
  "POLICY_BAD_SESSION",
] as const;
export type PolicyErrorCode = (typeof PolicyErrorCodes)[number];

/** A resolved policy: build it once with `createConnectionPolicy`, then check every request with it. */
export interface ConnectionPolicy {
  /** True when the server binds a loopback address; a non-loopback bind makes the token mandatory. */
  readonly loopbackBind: boolean;
  /** Lower-cased host names (no port) accepted in `Host` besides the loopback names. */
  readonly allowedHosts: ReadonlySet<string>;
  /** Lower-cased origins (`scheme://host[:port]`) accepted in `Origin`. */
  readonly allowedOrigins: ReadonlySet<string>;
  readonly token: string;
  /** Allowed-origin browsers must present the token (or a paired session cookie) even on loopback. */
  readonly requireTokenForBrowsers: boolean;
  /** Skip the peer-owner check on the local path (any local user can then forge an Origin). */
  readonly trustLocalBrowsers: boolean;
  /** The daemon's HTTP port: `http://<accepted host>:<port>` is then an allowed origin. */
  readonly httpPort?: number;
}

/** What admitted a request. */
export type AdmittedVia = "token" | "session" | "owner" | "trusted";

/** What a paired-browser session cookie on the request amounts to. */
export type SessionState = "valid" | "invalid" | "none";

/**
 * Facts the shell looks up (I/O) for the policy, asked lazily: `peerIsOwner` reads /proc, so it is
 * called only when it decides the outcome.
 */
export interface BrowserFacts {
  /** Whether the peer's socket belongs to the daemon's own user. */
  peerIsOwner(): true | false | "unknown";
  session(): SessionState;
}

const NO_FACTS: BrowserFacts = { peerIsOwner: () => "unknown", session: () => "none" };

export interface ConnectionPolicyOptions {
  /** The address the server binds (e.g. "127.0.0.1", "0.0.0.0", "192.168.1.5"). */
  bindHost: string;
  token: string;
  /** Origins allowed in addition to DEFAULT_FRONTEND_ORIGINS (e.g. "tauri://localhost"). */
  allowedOrigins?: readonly string[];
  /** The daemon's own HTTP origin(s), e.g. "http://127.0.0.1:24203"; allowed too. */
  httpOrigins?: readonly string[];
  /** Host names accepted in `Host` besides the loopback names (loopback aliases included). */
  allowedHosts?: readonly string[];
  requireTokenForBrowsers?: boolean;
  trustLocalBrowsers?: boolean;
  /** The daemon's bound HTTP port, when known. */
  httpPort?: number;
}

/** The request facts the policy reads; a fetch `Headers` object satisfies it. */
export interface HeaderSource {
  get(name: string): string | null;
}

export type PolicyDecision =
  | {
      ok: true;
      /** The allowed `Origin` as the client sent it, to echo in CORS headers, when there was one. */
      origin?: string;
      /** The `dispatch.token.<token>` subprotocol to echo on the upgrade, when the client offered it. */
      subprotocol?: string;
      /** The request presented the right token. */
      authenticated: boolean;
      via: AdmittedVia;
    }
  | { ok: false; status: 401 | 403 | 426; code: PolicyErrorCode; message: string };

/** Pure: true for addresses that only the local machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function isWildcard(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === "0.0.0.0" || h === "::" || h === "[::]" || h === "";
}

/** Pure: lower-cases an origin and drops a trailing slash, so comparisons are exact. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, "");
}

/** Pure: the host name of a `Host` header value, without its port (`[::1]:24205` → `[::1]`). */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

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

/** Pure: compares two strings in time that depends only on their lengths, not on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  const n = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Pure: the token offered through `Sec-WebSocket-Protocol`, with the exact entry to echo back. */
export function tokenSubprotocol(header: string | null): { token: string; subprotocol: string } | undefined {
  if (header === null) return undefined;
  for (const entry of header.split(",")) {
    const p = entry.trim();
    if (p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))
      return { token: p.slice(TOKEN_SUBPROTOCOL_PREFIX.length), subprotocol: p };
  }
  return undefined;
}

/** Pure: the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

type Denial = Extract<PolicyDecision, { ok: false }>;

function deny(status: 401 | 403 | 426, code: PolicyErrorCode, message: string): Denial {
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

/** Pure: true when the request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(method: string, headers: HeaderSource): boolean {
  return method.toUpperCase() === "GET" && (headers.get("upgrade") ?? "").toLowerCase().includes("websocket");
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

/**
 * Pure: CORS response headers for an allowed origin (echoed, never `*`); empty without an origin.
 */
export function corsHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    Vary: "Origin",
  };
}
