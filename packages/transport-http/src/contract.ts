/**
 * transport-http's contract: the HTTP API of PROTOCOL.md §6 on Bun.serve. Other packages (the daemon,
 * tests) read the bound address through the `HttpTransport` service.
 */
import { defineService } from "@dispatch/kernel";

export const HTTP_TRANSPORT_ID = "transport-http";

/** The listening HTTP API. */
export interface HttpTransport {
  /** The bound port (the real one when configured with 0). */
  readonly port: number;
  /** The bind address. */
  readonly host: string;
  /** Base URL, e.g. `http://127.0.0.1:24203`. */
  readonly url: string;
  /**
   * Stops accepting new connections; running requests (NDJSON streams) may finish. Idempotent.
   * The extension's shutdown closes everything that is left.
   */
  stopAccepting(): Promise<void>;
}
export const HttpTransport = defineService<HttpTransport>("transport-http/transport");

/**
 * Stable codes in the `code` field of error bodies produced by this package. Bodies and queries that
 * fail validation carry the protocol's codes (PROTOCOL_INVALID_FIELD, PROTOCOL_INVALID_JSON, …), service
 * refusals carry the service's (ORCH_TURN_RUNNING → 409, …), connection refusals the policy's
 * (POLICY_BAD_HOST → 403, POLICY_BAD_TOKEN → 401, …).
 */
export type HttpErrorCode =
  | "HTTP_INVALID_BODY"
  | "HTTP_INVALID_PATH"
  | "HTTP_UNSUPPORTED_PROTOCOL"
  | "HTTP_BODY_TOO_LARGE"
  | "HTTP_UNSUPPORTED_MEDIA_TYPE"
  | "HTTP_NOT_FOUND"
  | "HTTP_METHOD_NOT_ALLOWED"
  | "HTTP_UNKNOWN_CONVERSATION"
  | "HTTP_INTERNAL";
