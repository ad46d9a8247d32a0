/**
 * Parsing a request into what a route needs — path ids, the protocol level, a validated body — and
 * the one way a route fails: a coded `Failure` that `handle` turns into its JSON error response.
 */
import {
  type ParseResult,
  PathIdSchema,
  PROTOCOL_LEVEL_HEADER,
  PROTOCOL_LEVEL_QUERY,
  type ProtocolLevel,
  parseJsonBody,
  requestedHttpLevel,
} from "@dispatch/protocol";
import type { BunRequest, Server } from "bun";
import type { z } from "zod";
import { readBodyText } from "./body";
import { errorResponse, failureFrom, type HttpFailure } from "./errors";
import type { HttpMethod } from "./route-match";

export type RouteHandler = (req: BunRequest, server: Server<undefined>) => Response | Promise<Response>;
export type RouteTable = Record<string, Partial<Record<HttpMethod, RouteHandler>>>;

/** An expected failure: aborts a handler and becomes its response (see `handle`). */
export class Failure {
  constructor(readonly failure: HttpFailure) {}
}

/** Unwraps a parse or service result; a failure aborts with the status its code implies. */
export function need<T>(
  r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } },
): T {
  if (!r.ok) throw new Failure(failureFrom(r.error));
  return r.value;
}

/** Runs a handler; an expected failure becomes its JSON error, anything else propagates (→ 500). */
export function handle(fn: RouteHandler): RouteHandler {
  return async (req, server) => {
    try {
      return await fn(req, server);
    } catch (e) {
      if (e instanceof Failure) return errorResponse(e.failure);
      throw e;
    }
  };
}

export const json = (body: unknown, status = 200): Response => Response.json(body, { status });

/** A path parameter, bounded like every protocol id. */
export function param(req: BunRequest, name: string): string {
  const raw = (req.params as Record<string, string | undefined>)[name];
  const r = PathIdSchema.safeParse(raw);
  if (r.success) return r.data;
  throw new Failure({
    status: 400,
    code: "HTTP_INVALID_PATH",
    message: `path :${name}: ${r.error.issues[0]?.message}`,
  });
}

/** The protocol level a stream asks for (`Dispatch-Protocol` header or `?protocol=`); 400 when unsupported. */
export function streamLevel(req: BunRequest): ProtocolLevel {
  const asked = requestedHttpLevel(
    req.headers.get(PROTOCOL_LEVEL_HEADER),
    new URL(req.url).searchParams.get(PROTOCOL_LEVEL_QUERY),
  );
  if (asked.ok) return asked.level;
  throw new Failure({ status: 400, code: "HTTP_UNSUPPORTED_PROTOCOL", message: asked.message });
}

/** The validated JSON body; an `optional` body (all fields optional) may be empty. */
export async function jsonBody<S extends z.ZodType>(
  req: BunRequest,
  maxBodyBytes: number,
  schema: S,
  label: string,
  optional = false,
): Promise<z.output<S>> {
  const read = await readBodyText(req, maxBodyBytes);
  if (!read.ok) throw new Failure(read.failure);
  const text = optional && read.text.trim() === "" ? "{}" : read.text;
  const parsed: ParseResult<z.output<S>> = parseJsonBody(schema, text, label);
  return need(parsed);
}
