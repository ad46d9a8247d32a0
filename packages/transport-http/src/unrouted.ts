/**
 * Pure answers for requests no route handler takes: a preflight (204 with `Allow`), an unknown path
 * (404), a known path with another method (405 with `Allow`), an unparsable target (400).
 */
import type { HttpFailure } from "./errors";
import { allowedMethods, type HttpMethod } from "./route-match";

/** Route template → its methods. */
export type MethodTable = Record<string, HttpMethod[]>;

export type Unrouted =
  | { kind: "preflight"; allow: string }
  | { kind: "failure"; failure: HttpFailure; headers?: Record<string, string> };

/** Pure: CONNECT / authority-form targets and other unparsable URLs are the client's error, not a 500. */
export function badTarget(method: string, url: string, canParse: boolean): HttpFailure | undefined {
  if (method.toUpperCase() !== "CONNECT" && canParse) return undefined;
  return {
    status: 400,
    code: "HTTP_INVALID_PATH",
    message: `cannot serve ${method} ${url.slice(0, 200)}: expected an origin-form path`,
  };
}

/** Pure: the answer to a preflight for `pathname`. */
export function preflight(table: MethodTable, pathname: string): Unrouted {
  const allowed = allowedMethods(table, pathname);
  if (allowed === undefined)
    return {
      kind: "failure",
      failure: { status: 404, code: "HTTP_NOT_FOUND", message: `no route ${pathname}` },
    };
  return { kind: "preflight", allow: [...allowed, "OPTIONS"].join(", ") };
}

/** Pure: the answer to `method pathname` that matched no handler. */
export function noHandler(table: MethodTable, method: string, pathname: string): Unrouted {
  const allowed = allowedMethods(table, pathname);
  if (allowed === undefined) {
    const message = `no route ${method} ${pathname}`;
    return { kind: "failure", failure: { status: 404, code: "HTTP_NOT_FOUND", message } };
  }
  return {
    kind: "failure",
    failure: {
      status: 405,
      code: "HTTP_METHOD_NOT_ALLOWED",
      message: `${method} is not allowed on ${pathname}; use ${allowed.join(", ")}`,
    },
    headers: { Allow: [...allowed, "OPTIONS"].join(", ") },
  };
}
