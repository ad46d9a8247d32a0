import type { ErrorBody } from "@dispatch/protocol/types";
import type { HttpErrorCode } from "./contract";

/** An expected failure on its way to the client: status + `{ error, code }`. */
export interface HttpFailure {
  status: number;
  code: string;
  message: string;
  /** Sent as `Retry-After` (a 429). */
  retryAfterSec?: number;
}

/** This package's own codes: the compiler keeps HttpErrorCode and this table in step. */
const HTTP_STATUS: Readonly<Record<HttpErrorCode, number>> = {
  HTTP_INVALID_BODY: 400,
  HTTP_INVALID_PATH: 400,
  HTTP_UNSUPPORTED_PROTOCOL: 400,
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
  HTTP_NOT_FOUND: 404,
  HTTP_UNKNOWN_CONVERSATION: 404,
  HTTP_METHOD_NOT_ALLOWED: 405,
  HTTP_INTERNAL: 500,
};

/** Statuses of the codes the API's services and parsers return. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ...HTTP_STATUS,
  // the request itself
  PROTOCOL_INVALID_JSON: 400,
  PROTOCOL_NOT_AN_OBJECT: 400,
  PROTOCOL_BINARY_FRAME: 400,
  PROTOCOL_MISSING_TYPE: 400,
  PROTOCOL_UNKNOWN_TYPE: 400,
  PROTOCOL_INVALID_FIELD: 400,
  PROTOCOL_TOO_LARGE: 413,
  // channels and event streams (PROTOCOL.md §8)
  CHANNEL_INVALID: 400,
  CHANNEL_TOO_LONG: 400,
  CHANNEL_UNKNOWN_PREFIX: 400,
  STREAM_INVALID_EVENT_ID: 400,
  STREAM_INVALID_CURSOR: 400,
  STREAM_INVALID_WAIT: 400,
  STREAM_MISSING_CHANNEL: 400,
  STREAM_NOT_ACCEPTABLE: 406,
  STREAM_TOO_MANY: 429,
  // orchestrator
  ORCH_TURN_RUNNING: 409,
  ORCH_CONVERSATION_CLOSED: 409,
  ORCH_COMPACTING: 409,
  ORCH_NOTHING_TO_COMPACT: 409,
  ORCH_UNKNOWN_CONVERSATION: 404,
  ORCH_UNKNOWN_PERMISSION_REQUEST: 404,
  ORCH_UNKNOWN_MODEL: 400,
  ORCH_MISSING_API_KEY: 400,
  ORCH_UNKNOWN_WORKSPACE: 400,
  ORCH_INVALID_REQUEST: 400,
  ORCH_COMPACTION_FAILED: 502,
  ORCH_STORE_FAILED: 500,
  ORCH_SHUTTING_DOWN: 503,
  ORCH_QUEUE_FULL: 429,
  // store
  STORE_UNKNOWN_CONVERSATION: 404,
  STORE_INVALID_INPUT: 400,
  STORE_INVALID_CURSOR: 400,
  STORE_UNKNOWN_WORKSPACE: 400,
  STORE_WRITE_FAILED: 500,
  // shares
  SHARE_UNKNOWN: 404,
  SHARES_UNAVAILABLE: 503,
  POLICY_SHARE_RATE_LIMITED: 429,
};

/**
 * Pure: the HTTP status for an error code. Known codes come from the table; otherwise unknown ids → 404,
 * state conflicts → 409, invalid input → 400, too large → 413, anything else → 500.
 */
export function statusForCode(code: string): number {
  const known = STATUS_BY_CODE[code];
  if (known !== undefined) return known;
  // A right the caller lacks, decided by the operations core (a grant without the token).
  if (code === "FORBIDDEN") return 403;
  if (code.endsWith("_TOO_LARGE")) return 413;
  if (/_UNKNOWN_(CONVERSATION|REQUEST|PERMISSION_REQUEST)$/.test(code)) return 404;
  if (/_(RUNNING|CLOSED|EXISTS|BUSY)$/.test(code)) return 409;
  if (/_(INVALID|UNKNOWN)_/.test(code)) return 400;
  return 500;
}

/** Pure: a failure from an error value `{ code, message }`, with the status its code implies. */
export function failureFrom(error: { code: string; message: string }): HttpFailure {
  return { status: statusForCode(error.code), code: error.code, message: error.message };
}

/** Builds the JSON error response `{ error, code }`. Exceptions never get here with their text or stack. */
export function errorResponse(f: HttpFailure, headers?: Record<string, string>): Response {
  const body: ErrorBody = { error: f.message, code: f.code };
  const all =
    f.retryAfterSec === undefined ? headers : { ...headers, "Retry-After": String(f.retryAfterSec) };
  return Response.json(body, { status: f.status, headers: all });
}

/** Pure: the failure reported for an unexpected exception; details go to the log under `requestId`. */
export function internalFailure(requestId: string): HttpFailure {
  return {
    status: 500,
    code: "HTTP_INTERNAL",
    message: `internal error (request ${requestId}; see the daemon log)`,
  };
}
