/**
 * JSON Schema (WebSocket messages) and OpenAPI 3.1 (HTTP API) generated from the same zod schemas the
 * daemon validates with, so bindings in any language match the server. Output is deterministic:
 * named schemas sorted by id, everything else in declaration order.
 */
import { z } from "zod";
import packageJson from "../package.json";
import { type HttpErrorStatus, type HttpRoute, httpPathParams, httpRoutes } from "./http-routes";
// The barrel, not single files: registering a schema is a side effect of loading its module.
import {
  AgentEventSchema,
  ClientMessageSchema,
  ErrorBodySchema,
  PathIdSchema,
  protocolRegistry,
  queryParamJson,
  ServerMessageSchema,
} from "./schemas";

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

/** Pure: JSON Schema 2020-12 of every WebSocket message; `$defs` holds each named shape. */
export function protocolJsonSchema(): JsonObject {
  const defs = namedSchemas("#/$defs/");
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: "Dispatch WebSocket protocol v1",
    description:
      "Every frame is one UTF-8 JSON object discriminated by `type`. Clients send ClientMessage and receive " +
      "ServerMessage; both sides ignore fields they don't know.",
    anyOf: [schemaRef(ClientMessageSchema, "#/$defs/"), schemaRef(ServerMessageSchema, "#/$defs/")],
    $defs: reachable(defs, [idOf(ClientMessageSchema), idOf(ServerMessageSchema)], "#/$defs/"),
  };
}

/** Pure: OpenAPI 3.1 document of the HTTP API. `version` defaults to this package's version. */
export function openApiDocument(opts: { version?: string } = {}): JsonObject {
  const prefix = "#/components/schemas/";
  const defs = namedSchemas(prefix);
  const paths: JsonObject = {};
  for (const route of httpRoutes) {
    const item = (paths[route.path] ?? {}) as JsonObject;
    item[route.method] = operation(route, prefix);
    paths[route.path] = item;
  }
  const roots = [...collectRefs(paths, prefix), idOf(ErrorBodySchema)];
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    info: {
      title: "Dispatch daemon HTTP API",
      version: opts.version ?? packageJson.version,
      description:
        "Local daemon for AI-agent conversations. Errors are `{ error, code? }` with a 4xx/5xx status. " +
        "Every operation needs `Authorization: Bearer <token>` (the token is in daemon.json), except the " +
        "public ones (`/health`, `/metrics`, `/openapi.json`, `/protocol.json`) from loopback. Request bodies " +
        "are `application/json` (anything else: 415).",
    },
    // The served document names the URL the client used; this is the default port.
    servers: [{ url: "http://127.0.0.1:24203" }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas: reachable(defs, roots, prefix),
      responses: errorResponses(prefix),
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "The token from daemon.json." },
      },
    },
  };
}

/** Pure: the committed files under `generated/`, by file name, as written (2-space JSON + newline). */
export function generatedFiles(opts: { version?: string } = {}): Record<string, string> {
  return {
    "protocol.json": stringify(protocolJsonSchema()),
    "openapi.json": stringify(openApiDocument(opts)),
  };
}

function stringify(doc: JsonValue): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

// ───────────────────────────── schemas ─────────────────────────────

/** Every registered schema as JSON Schema, refs pointing at `prefix + id`. */
function namedSchemas(prefix: string): Record<string, JsonObject> {
  const out = z.toJSONSchema(protocolRegistry, {
    uri: (id) => `${prefix}${id}`,
    io: "input",
    metadata: protocolRegistry,
  }) as {
    schemas: Record<string, JsonObject>;
  };
  const defs: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    defs[id] = rest;
  }
  return defs;
}

/** One anonymous (inline) schema: a query parameter. */
function inlineSchema(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input" }) as JsonObject;
  return rest;
}

/** The definitions reachable from `roots` through `$ref`s, sorted by id. */
function reachable(defs: Record<string, JsonObject>, roots: string[], prefix: string): JsonObject {
  const seen = new Set<string>();
  const queue = [...roots];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    const def = defs[id];
    if (seen.has(id) || def === undefined) continue;
    seen.add(id);
    queue.push(...collectRefs(def, prefix));
  }
  const out: JsonObject = {};
  for (const id of [...seen].sort()) out[id] = defs[id] as JsonObject;
  return out;
}

function collectRefs(value: JsonValue, prefix: string, into: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, prefix, into);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string" && child.startsWith(prefix))
        into.push(child.slice(prefix.length));
      else collectRefs(child, prefix, into);
    }
  }
  return into;
}

// ───────────────────────────── OpenAPI pieces ─────────────────────────────

const ERROR_RESPONSES: Record<HttpErrorStatus | 401 | 403 | 500, [name: string, description: string]> = {
  400: ["BadRequest", "The body or a parameter is invalid; `error` names the field and the problem."],
  401: ["Unauthorized", "Missing or wrong token."],
  403: [
    "Forbidden",
    "Host or Origin not allowed, or the caller's role may not call this operation (FORBIDDEN: a share viewer outside its conversation).",
  ],
  404: ["NotFound", "Unknown conversation, queued message or permission request."],
  409: ["Conflict", "A turn is already running, or the conversation is closed."],
  413: ["PayloadTooLarge", "The body (HTTP_BODY_TOO_LARGE) or a field (PROTOCOL_TOO_LARGE) is over its cap."],
  406: [
    "NotAcceptable",
    "The request's Accept header excludes what the route answers (STREAM_NOT_ACCEPTABLE).",
  ],
  415: ["UnsupportedMediaType", "The body is not `application/json` (HTTP_UNSUPPORTED_MEDIA_TYPE)."],
  429: [
    "TooManyRequests",
    "Too many messages already wait for the running turn (ORCH_QUEUE_FULL), or too many open event streams from this address (STREAM_TOO_MANY).",
  ],
  500: ["InternalError", "Unexpected server error."],
  502: ["BadGateway", "The model call behind the operation failed (ORCH_COMPACTION_FAILED)."],
  503: ["ServiceUnavailable", "The daemon is shutting down (ORCH_SHUTTING_DOWN)."],
};

function errorResponses(prefix: string): JsonObject {
  const out: JsonObject = {};
  for (const [name, description] of Object.values(ERROR_RESPONSES)) {
    out[name] = {
      description,
      content: { "application/json": { schema: schemaRef(ErrorBodySchema, prefix) } },
    };
  }
  return out;
}

function operation(route: HttpRoute, prefix: string): JsonObject {
  const op: JsonObject = { operationId: route.operationId, summary: route.summary };
  if (route.ext) op["x-dispatch-ext"] = true;
  // Who may call it (PROTOCOL.md §8): owner only, or a share viewer of the `{id}` conversation too.
  op["x-dispatch-role"] = route.role;
  // Public operations: no token needed from loopback (anonymous), the token otherwise.
  if (route.public) op.security = [{}, { bearerAuth: [] }];
  const parameters = [...pathParameters(route.path), ...queryParameters(route)];
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body !== undefined) {
    op.requestBody = {
      required: route.bodyOptional !== true,
      content: { "application/json": { schema: schemaRef(route.body, prefix) } },
    };
  }
  const responses: JsonObject = { "200": successResponse(route, prefix) };
  const implied: (HttpErrorStatus | 401 | 403 | 500)[] = [...route.errors];
  if (route.path.includes("{")) implied.push(400);
  if (route.body !== undefined) implied.push(400, 413, 415);
  if (!route.public) implied.push(401);
  implied.push(403, 500);
  for (const status of [...new Set(implied)].sort((a, b) => a - b)) {
    responses[String(status)] = { $ref: `#/components/responses/${ERROR_RESPONSES[status][0]}` };
  }
  op.responses = responses;
  return op;
}

function successResponse(route: HttpRoute, prefix: string): JsonObject {
  if (route.response === "ndjson") {
    return {
      description: "One AgentEvent per line until `turn-sealed`.",
      headers: {
        "X-Conversation-Id": {
          description: "The conversation the turn runs in.",
          schema: { type: "string" },
        },
      },
      content: { "application/x-ndjson": { schema: schemaRef(AgentEventSchema, prefix) } },
    };
  }
  if (route.response === "event-stream") {
    return {
      description:
        "Server-sent events: one `chat.delta` frame (JSON) per `data:` line, `id: <conversationId>:<turnId>:<n>` for turn events; `:` comments keep the stream alive.",
      content: { "text/event-stream": { schema: { type: "string" } } },
    };
  }
  if (route.response === "prometheus-text") {
    return { description: "OK", content: { "text/plain": { schema: { type: "string" } } } };
  }
  const schema = route.response === "json-document" ? { type: "object" } : schemaRef(route.response, prefix);
  return { description: "OK", content: { "application/json": { schema } } };
}

/** A `$ref` to a named schema, else the schema inline. */
function schemaRef(schema: z.ZodType, prefix: string): JsonObject {
  const id = protocolRegistry.get(schema)?.id;
  return id === undefined ? inlineSchema(schema) : { $ref: `${prefix}${id}` };
}

function idOf(schema: z.ZodType): string {
  const id = protocolRegistry.get(schema)?.id;
  if (id === undefined) throw new Error("protocol: root schema is not registered (bug in json-schema.ts)");
  return id;
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name = ""]) => ({
    name,
    in: "path",
    required: true,
    description: httpPathParams[name] ?? name,
    schema: inlineSchema(PathIdSchema),
  }));
}

function queryParameters(route: HttpRoute): JsonObject[] {
  if (route.query === undefined) return [];
  return Object.entries(route.query.shape as Record<string, z.ZodType>).map(([name, schema]) => {
    const param: JsonObject = { name, in: "query", required: !schema.safeParse(undefined).success };
    const description = route.queryDocs?.[name];
    if (description !== undefined) param.description = description;
    const typed = queryParamJson.get(unwrapOptional(schema));
    if (typed?.explode === false) param.explode = false;
    param.schema = typed ? typed.schema : inlineSchema(schema);
    return param;
  });
}

/** A query parameter's schema without its `.optional()` wrapper (the typed forms are keyed by the inner one). */
function unwrapOptional(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
}
