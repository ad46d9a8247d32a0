/**
 * The WebSocket transport's contract: the `WsTransport` service the composition root reads (bound
 * port, token, connections), close codes and error codes.
 */
import type { BrowserAccess as BrowserAccessShape } from "@dispatch/connection-policy/io";
import { type Disposer, defineService } from "@dispatch/kernel";

/** Close codes this transport uses (PROTOCOL.md §3). */
export const CloseCodes = {
  /** Server shutdown. */
  goingAway: 1001,
  /** Sustained abusive rate. */
  policyViolation: 1008,
  /** Inbound frame over the size limit (Bun closes with it before the frame reaches us). */
  tooBig: 1009,
  /** Unsent output passed the per-connection cap; the client may reconnect and `resume`. */
  slowConsumer: 4008,
  /** A share viewer's share was revoked or expired (PROTOCOL.md §8). */
  shareEnded: 4403,
} as const;

export const WsErrorCodes = [
  /** The extension's config section is invalid; the message names the field. */
  "WS_INVALID_CONFIG",
  /** Bun.serve could not bind the configured host/port. */
  "WS_LISTEN_FAILED",
  /** A frame was dropped by the rate limit. */
  "WS_RATE_LIMITED",
  /** subscribe/invoke named a surface that is not in the catalog. */
  "WS_UNKNOWN_SURFACE",
  /** An unexpected exception inside a handler (logged; the client gets a generic error). */
  "WS_INTERNAL_ERROR",
] as const;
export type WsErrorCode = (typeof WsErrorCodes)[number];

export class WsTransportError extends Error {
  override readonly name = "WsTransportError";
  constructor(
    readonly code: WsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A snapshot of one open connection. */
export interface ConnectionInfo {
  /** Per-server sequence number, in connection order. */
  id: number;
  remoteAddress: string;
  /** The connection presented the right token (else it came from an allow-listed browser origin). */
  authenticated: boolean;
  /** The protocol level it speaks (1 until its `hello` asked for 2). */
  level: number;
  /** Conversations it watches. */
  conversations: string[];
  /** Number of surface subscriptions. */
  surfaces: number;
  /** Bytes queued for it but not yet written to the socket. */
  bufferedBytes: number;
}

export interface ConnectionClosed {
  id: number;
  code: number;
  reason: string;
}

export interface WsTransport {
  /** The bound port (the real one when the config asked for 0). */
  readonly port: number;
  /** The bound host. */
  readonly hostname: string;
  /** `ws://<host>:<port>`. */
  readonly url: string;
  /** The token clients present: the configured one, or one generated at start (128 bits, hex). */
  readonly token: string;
  connections(): ConnectionInfo[];
  /** Called after a connection has closed, for whatever reason. */
  onConnectionClosed(listener: (closed: ConnectionClosed) => void): Disposer;
  /** Closes every connection with 1001 and stops listening. Idempotent; the scope calls it on shutdown. */
  close(): Promise<void>;
}
export const WsTransport = defineService<WsTransport>("transport-ws/transport");

/** The extension id, also the key of its config section. */
export const TRANSPORT_WS_EXTENSION_ID = "transport-ws";

/**
 * The daemon's one browser-access object (connection-policy's `BrowserAccess`: paired-browser sessions,
 * peer owner lookup, the HTTP port), provided by this extension so both ports share it.
 */
export type BrowserAccess = BrowserAccessShape;
export const BrowserAccess = defineService<BrowserAccess>("transport-ws/browser-access");
