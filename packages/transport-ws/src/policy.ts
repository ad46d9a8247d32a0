/**
 * The connection policy of PROTOCOL.md §1 — pure: header facts in, a decision out.
 *
 * Shared by the WebSocket upgrade (this package) and the HTTP API (transport-http). It runs before
 * anything else touches a request: Host (DNS-rebinding defence), Origin allow-list, token. No I/O, no
 * Bun or node: imports.
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
  /** Browsers from an allowed origin must present the token too. Always true on a non-loopback bind. */
  readonly requireTokenForBrowsers: boolean;
}

export interface ConnectionPolicyOptions {
  /** The address the server binds (e.g. "127.0.0.1", "0.0.0.0", "192.168.1.5"). */
  bindHost: string;
  token: string;
  /** Origins allowed in addition to DEFAULT_FRONTEND_ORIGINS (e.g. "tauri://localhost"). */
  allowedOrigins?: readonly string[];
  /** The daemon's own HTTP origin(s), e.g. "http://127.0.0.1:24203"; allowed too. */
  httpOrigins?: readonly string[];
  /** Host names accepted in `Host` when the bind is non-loopback. */
  allowedHosts?: readonly string[];
  requireTokenForBrowsers?: boolean;
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
  if (!loopbackBind && !isWildcard(opts.bindHost)) {
    const bind =
      opts.bindHost.includes(":") && !opts.bindHost.startsWith("[") ? `[${opts.bindHost}]` : opts.bindHost;
    allowedHosts.add(hostName(bind));
  }
  const allowedOrigins = new Set(
    [...DEFAULT_FRONTEND_ORIGINS, ...(opts.allowedOrigins ?? []), ...(opts.httpOrigins ?? [])].map(
      normalizeOrigin,
    ),
  );
  return {
    loopbackBind,
    allowedHosts,
    allowedOrigins,
    token: opts.token,
    requireTokenForBrowsers: !loopbackBind || opts.requireTokenForBrowsers === true,
  };
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

function deny(status: 401 | 403 | 426, code: PolicyErrorCode, message: string): PolicyDecision {
  return { ok: false, status, code, message };
}

/**
 * Pure: decides whether a request (HTTP or WS upgrade) may proceed: Host, then Origin, then token.
 * A request without Origin (non-browser) needs the token; a browser from an allowed origin may come
 * without it on a loopback bind unless `requireTokenForBrowsers`. A wrong token is always refused.
 */
export function checkConnection(policy: ConnectionPolicy, headers: HeaderSource): PolicyDecision {
  const host = headers.get("host");
  if (host === null || host.trim() === "") return deny(403, "POLICY_BAD_HOST", "missing Host header");
  const name = hostName(host);
  if (!LOOPBACK_HOST_NAMES.has(name) && (policy.loopbackBind || !policy.allowedHosts.has(name))) {
    return deny(403, "POLICY_BAD_HOST", `Host "${name}" is not allowed`);
  }

  const rawOrigin = headers.get("origin");
  const origin = rawOrigin === null ? undefined : normalizeOrigin(rawOrigin);
  if (origin !== undefined && !policy.allowedOrigins.has(origin)) {
    return deny(403, "POLICY_BAD_ORIGIN", `Origin "${rawOrigin}" is not in the allow-list`);
  }

  const viaProtocol = tokenSubprotocol(headers.get("sec-websocket-protocol"));
  const offered = [bearerToken(headers.get("authorization")), viaProtocol?.token].filter(
    (t): t is string => t !== undefined,
  );
  let authenticated = false;
  for (const t of offered) if (constantTimeEqual(t, policy.token)) authenticated = true;
  if (offered.length > 0 && !authenticated) return deny(401, "POLICY_BAD_TOKEN", "wrong token");
  if (!authenticated && (origin === undefined || policy.requireTokenForBrowsers)) {
    return deny(
      401,
      "POLICY_TOKEN_REQUIRED",
      "a token is required: send `Authorization: Bearer <token>` or the `dispatch.token.<token>` subprotocol",
    );
  }

  const decision: PolicyDecision = { ok: true, authenticated };
  if (rawOrigin !== null) decision.origin = rawOrigin.trim();
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
): PolicyDecision {
  if (!isWebSocketUpgrade(method, headers)) {
    return deny(426, "POLICY_UPGRADE_REQUIRED", "this port only speaks WebSocket; upgrade required");
  }
  return checkConnection(policy, headers);
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
