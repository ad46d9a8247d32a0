/**
 * Boundary parsers. Every function here is pure and total: malformed input becomes a `ProtocolError`
 * value, never an exception, so a socket or HTTP handler can call them without a try/catch.
 */
import type { z } from "zod";
import { MAX_ID_CHARS } from "./limits";
import { clientMessageSchemas } from "./schemas/client";
import { AgentEventSchema } from "./schemas/events";
import { ConversationListQuerySchema, ConversationWindowQuerySchema } from "./schemas/http";
import { ServerMessageSchema } from "./schemas/server";
import type {
  AgentEvent,
  ClientMessage,
  ClientMessageType,
  ConversationListQuery,
  ConversationWindowQuery,
  ParseClientMessageResult,
  ParseResult,
  ProtocolError,
  ProtocolErrorCode,
  ServerMessage,
} from "./types";

/** Longest excerpt of client-supplied text (an unknown type, a JSON error) echoed in an error message. */
const ECHO_CHARS = 80;
/** Issues listed in one error message; the rest are counted. */
const MAX_LISTED_ISSUES = 3;

const schemaByType: Readonly<Record<ClientMessageType, z.ZodType<ClientMessage>>> = clientMessageSchemas;
const clientTypes = new Set<string>(Object.keys(schemaByType));

/** Pure: true when `type` names a client message. */
export function isClientMessageType(type: string): type is ClientMessageType {
  return clientTypes.has(type);
}

/**
 * Pure: decodes and validates one inbound WebSocket frame. Strings are JSON text; `ArrayBuffer` /
 * `Uint8Array` input means a binary frame, which the protocol does not accept. Unknown fields are
 * stripped. On failure, `isChat` tells the transport to answer `chat.error` (else `error`) and
 * `replyToId` is the frame's `id` whenever it was a string.
 */
export function parseClientMessage(raw: string | ArrayBuffer | Uint8Array): ParseClientMessageResult {
  const decoded = decodeFrame(raw);
  if (!decoded.ok) return decoded;
  const frame = decoded.value;
  // An id past the cap is not echoed (a 1 MB id would come back whole in `replyTo`): the frame is
  // refused with "id must be at most … characters" and no replyTo.
  const replyToId = typeof frame.id === "string" && frame.id.length <= MAX_ID_CHARS ? frame.id : undefined;
  const type = frame.type;
  if (typeof type !== "string") {
    const message =
      type === undefined
        ? 'Missing message type: every frame needs a string "type" field'
        : `Invalid message type: "type" must be a string (got ${describe(type)})`;
    return fail("PROTOCOL_MISSING_TYPE", message, false, replyToId);
  }
  const isChat = type.startsWith("chat.");
  if (!isClientMessageType(type)) {
    return fail("PROTOCOL_UNKNOWN_TYPE", `Unknown message type: ${excerpt(type)}`, isChat, replyToId);
  }
  const result = validate(schemaByType[type], frame, type);
  if (!result.ok) return fail(result.error.code, result.error.message, isChat, replyToId);
  return { ok: true, message: result.value };
}

/** Pure: validates an AgentEvent, given as a decoded value or as JSON text (an NDJSON line). */
export function parseAgentEvent(input: unknown): ParseResult<AgentEvent> {
  return parseJsonValue(AgentEventSchema, input, "AgentEvent");
}

/** Pure: validates a server → client frame, given as a decoded value or as JSON text. */
export function parseServerMessage(input: unknown): ParseResult<ServerMessage> {
  return parseJsonValue(ServerMessageSchema, input, "ServerMessage");
}

/**
 * Pure: validates an HTTP request body (already JSON-decoded) against `schema`. `label` prefixes the
 * message, e.g. `"POST /chat"` → `POST /chat: message must be a non-empty string`. Unknown fields are stripped.
 */
export function parseBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
  label = "body",
): ParseResult<z.output<S>> {
  const decoded = asObject(body, label);
  if (!decoded.ok) return decoded;
  return validate(schema, decoded.value, label);
}

/** Pure: decodes JSON text then validates it like `parseBody`. */
export function parseJsonBody<S extends z.ZodType>(
  schema: S,
  text: string,
  label = "body",
): ParseResult<z.output<S>> {
  const decoded = decodeFrame(text, label);
  if (!decoded.ok) return decoded;
  return validate(schema, decoded.value, label);
}

/** Query parameters as URLSearchParams or a plain record; a repeated key keeps its last value. */
export type QueryInput = URLSearchParams | Record<string, string | undefined>;

/** Pure: parses the query string of `GET /conversations` (`status=a,b&workspaceId=&q=&limit=&cursor=`). */
export function parseConversationListQuery(query: QueryInput): ParseResult<ConversationListQuery> {
  return validate(ConversationListQuerySchema, queryRecord(query), "GET /conversations");
}

/** Pure: parses the query string of `GET /conversations/:id` (`sinceSeq=&beforeSeq=&limit=`). */
export function parseConversationWindowQuery(query: QueryInput): ParseResult<ConversationWindowQuery> {
  return validate(ConversationWindowQuerySchema, queryRecord(query), "GET /conversations/:id");
}

// ───────────────────────────── internals ─────────────────────────────

type Decoded = { ok: true; value: Record<string, unknown> } | { ok: false; error: ProtocolError };

/** Text frame → JSON object. Anything that is not a string is a binary frame. */
function decodeFrame(raw: unknown, label?: string): Decoded {
  if (typeof raw !== "string") {
    return fail(
      "PROTOCOL_BINARY_FRAME",
      labelled(label, "binary frames are not supported; send UTF-8 JSON text"),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail("PROTOCOL_INVALID_JSON", labelled(label, `invalid JSON: ${excerpt(reason)}`));
  }
  return asObject(value, label);
}

function asObject(value: unknown, label: string | undefined): Decoded {
  if (isPlainObject(value)) return { ok: true, value };
  return fail("PROTOCOL_NOT_AN_OBJECT", labelled(label, `expected a JSON object, got ${describe(value)}`));
}

function parseJsonValue<S extends z.ZodType>(
  schema: S,
  input: unknown,
  label: string,
): ParseResult<z.output<S>> {
  const isFrame = typeof input === "string" || input instanceof ArrayBuffer || ArrayBuffer.isView(input);
  const decoded = isFrame ? decodeFrame(input, label) : asObject(input, label);
  if (!decoded.ok) return decoded;
  return validate(schema, decoded.value, label);
}

/** "label: problem", or "Problem" for client frames, whose messages start with the message type. */
function labelled(label: string | undefined, problem: string): string {
  return label === undefined ? problem.charAt(0).toUpperCase() + problem.slice(1) : `${label}: ${problem}`;
}

function validate<S extends z.ZodType>(schema: S, value: unknown, label: string): ParseResult<z.output<S>> {
  const result = schema.safeParse(value, { reportInput: true, error: problemOf });
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues;
  const first = issues[0];
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map(formatIssue).join("; ");
  const more = issues.length > MAX_LISTED_ISSUES ? ` (and ${issues.length - MAX_LISTED_ISSUES} more)` : "";
  return fail(first === undefined ? "PROTOCOL_INVALID_FIELD" : codeOf(first), `${label}: ${listed}${more}`);
}

function fail(code: ProtocolErrorCode, message: string, isChat = false, replyToId?: string) {
  const error: ProtocolError =
    replyToId === undefined ? { code, message, isChat } : { code, message, replyToId, isChat };
  return { ok: false as const, error };
}

/** Oversized strings and arrays are TOO_LARGE; every other issue is a mistyped or out-of-range field. */
function codeOf(issue: z.core.$ZodIssue): ProtocolErrorCode {
  if (issue.code === "too_big" && (issue.origin === "string" || issue.origin === "array")) {
    return "PROTOCOL_TOO_LARGE";
  }
  return "PROTOCOL_INVALID_FIELD";
}

/** "images[0].url must be at most 16 characters (got number)". */
function formatIssue(issue: z.core.$ZodIssue): string {
  let got = "";
  if (issue.code === "invalid_type" && issue.input !== undefined) got = ` (got ${describe(issue.input)})`;
  if (issue.code === "invalid_value") got = ` (got ${preview(issue.input)})`;
  return `${formatPath(issue.path)} ${issue.message}${got}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "value" : out;
}

/** Error map for issues whose schema has no message of its own: states the problem, not the path. */
function problemOf(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${expectedName(issue.expected)}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_big":
      return boundProblem("at most", issue.origin, issue.maximum, issue.inclusive !== false);
    case "too_small":
      return boundProblem("at least", issue.origin, issue.minimum, issue.inclusive !== false);
    case "invalid_union":
      return Array.isArray(issue.options) && issue.options.length > 0
        ? `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}`
        : "does not match any allowed shape";
    case "invalid_format":
      return issue.format === "regex" ? "has an invalid format" : `must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
}

function expectedName(expected: string): string {
  switch (expected) {
    case "int":
      return "an integer";
    case "object":
    case "array":
      return `an ${expected}`;
    case "nonoptional":
      return "present";
    default:
      return `a ${expected}`;
  }
}

function boundProblem(
  side: "at most" | "at least",
  origin: string,
  bound: number | bigint,
  inclusive: boolean,
) {
  if (origin === "string") return `must be ${side} ${bound} characters`;
  if (origin === "array") return `must have ${side} ${bound} items`;
  if (inclusive) return `must be ${side} ${bound}`;
  return `must be ${side === "at most" ? "less than" : "greater than"} ${bound}`;
}

function queryRecord(query: QueryInput): Record<string, string | undefined> {
  if (query instanceof URLSearchParams) return Object.fromEntries(query);
  return query;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Short name of a JSON value's kind for messages: "null", "array", "number", … */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** A scalar as JSON (long strings cut), anything else by kind. */
function preview(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(excerpt(value));
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return describe(value);
}

function excerpt(text: string): string {
  return text.length <= ECHO_CHARS ? text : `${text.slice(0, ECHO_CHARS)}…`;
}
