/**
 * Pure: the header and address spellings the policy compares — Host names, origins, tokens — each
 * normalized so that a comparison is exact. No I/O.
 */
import {
  type HeaderSource,
  SHARE_QUERY_PARAM,
  SHARE_SUBPROTOCOL_PREFIX,
  TOKEN_SUBPROTOCOL_PREFIX,
} from "./contract";

/** Pure: true for addresses that only the local machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Pure: true for a wildcard bind address (every interface). */
export function isWildcard(host: string): boolean {
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

/** Pure: compares two strings in time that depends only on their lengths, not on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  const n = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Pure: the `Sec-WebSocket-Protocol` entry that starts with `prefix`: the rest, and the entry itself. */
function prefixedEntry(header: string | null, prefix: string): [rest: string, entry: string] | undefined {
  for (const entry of (header ?? "").split(",")) {
    const p = entry.trim();
    if (p.startsWith(prefix)) return [p.slice(prefix.length), p];
  }
  return undefined;
}

/** Pure: the token offered through `Sec-WebSocket-Protocol`, with the exact entry to echo back. */
export function tokenSubprotocol(header: string | null): { token: string; subprotocol: string } | undefined {
  const e = prefixedEntry(header, TOKEN_SUBPROTOCOL_PREFIX);
  return e === undefined ? undefined : { token: e[0], subprotocol: e[1] };
}

/** Pure: the share secret offered through `Sec-WebSocket-Protocol`, with the entry to echo back. */
export function shareSubprotocol(header: string | null): { secret: string; subprotocol: string } | undefined {
  const e = prefixedEntry(header, SHARE_SUBPROTOCOL_PREFIX);
  return e === undefined ? undefined : { secret: e[0], subprotocol: e[1] };
}

/**
 * Pure: the share secret a request presents (PROTOCOL.md §8): the `dispatch.share.<secret>`
 * subprotocol, `Authorization: Share <secret>`, or `?share=<secret>` on a GET (the WebSocket upgrade
 * is one). `url` is the request URL, for the query; undefined when it presents none.
 */
export function shareCredential(headers: HeaderSource, method: string, url?: string): string | undefined {
  const viaProtocol = shareSubprotocol(headers.get("sec-websocket-protocol"));
  if (viaProtocol !== undefined) return viaProtocol.secret;
  const auth = /^\s*share\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  if (auth !== null) return auth[1];
  if (url === undefined || method.toUpperCase() !== "GET") return undefined;
  const q = url.indexOf("?");
  if (q === -1) return undefined;
  const value = new URLSearchParams(url.slice(q + 1).split("#")[0]).get(SHARE_QUERY_PARAM);
  return value === null ? undefined : value;
}

/** Pure: the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Pure: true when the request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(method: string, headers: HeaderSource): boolean {
  return method.toUpperCase() === "GET" && (headers.get("upgrade") ?? "").toLowerCase().includes("websocket");
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

/**
 * Pure: whether a peer's socket address (as the server reports it) is loopback: IPv4 127/8, ::1,
 * IPv4-mapped 127/8. Unlike `isLoopbackAddress`, which reads a Host name, no names and no brackets.
 */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}
