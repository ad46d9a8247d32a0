/**
 * The connection policy's contract (PROTOCOL.md §1): what a transport hands in (options, headers, the
 * facts only I/O can tell) and the decision it gets back, with stable error codes. Type-level plus the
 * constants the wire fixes.
 */

/** The frontend's dev origins, allowed by default (compat). */
export const DEFAULT_FRONTEND_ORIGINS: readonly string[] = [
  "http://localhost:24204",
  "https://localhost:24204",
  "http://127.0.0.1:24204",
  "https://127.0.0.1:24204",
];

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries the token for browser WebSockets. */
export const TOKEN_SUBPROTOCOL_PREFIX = "dispatch.token.";
/** Prefix of the `Sec-WebSocket-Protocol` entry that carries a share secret (PROTOCOL.md §8). */
export const SHARE_SUBPROTOCOL_PREFIX = "dispatch.share.";
/** The query parameter that may carry a share secret on a GET (and on the WebSocket upgrade). */
export const SHARE_QUERY_PARAM = "share";

export const PolicyErrorCodes = [
  "POLICY_BAD_HOST",
  "POLICY_BAD_ORIGIN",
  "POLICY_TOKEN_REQUIRED",
  "POLICY_BAD_TOKEN",
  "POLICY_UPGRADE_REQUIRED",
  /** A session cookie was sent but is unknown, expired or revoked. */
  "POLICY_BAD_SESSION",
  /** A share secret was presented but is malformed, forged, expired or revoked (the message says which). */
  "POLICY_BAD_SHARE",
  /** Too many wrong share secrets from this address lately. */
  "POLICY_SHARE_RATE_LIMITED",
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
export type AdmittedVia = "token" | "session" | "owner" | "trusted" | "share";

/**
 * What the shell found of a presented share secret (`Shares.verify`: I/O, the store and the
 * per-address budget). The policy never sees the secret itself.
 */
export type ShareCheck =
  | { ok: true; shareId: string; conversationId: string }
  | { ok: false; rateLimited: boolean; message: string; retryAfterSec?: number };

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
  /** The verdict on the share secret the request presents; undefined when it presents none. */
  share?(): ShareCheck | undefined;
}

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
      /** Admitted through a share (`via: "share"`): a viewer of this conversation only. */
      share?: { shareId: string; conversationId: string };
    }
  | {
      ok: false;
      status: 401 | 403 | 426 | 429;
      code: PolicyErrorCode;
      message: string;
      /** For 429: seconds until the address may try again. */
      retryAfterSec?: number;
    };

/** Whether a peer socket belongs to the daemon's own user; "unknown" counts as another user. */
export type PeerOwner = true | false | "unknown";

export interface PeerAddress {
  address: string;
  port: number;
}

/**
 * Tells who owns the peer of a connection (I/O: see `@dispatch/connection-policy/io`). `peer` is the
 * client's address:port as the server sees it; `serverPort` the port it connected to; `serverHost` the
 * bind address (a specific one makes the netlink lookup exact).
 */
export type PeerOwnerLookup = (
  peer: PeerAddress | null | undefined,
  serverPort: number,
  serverHost?: string,
) => PeerOwner;
