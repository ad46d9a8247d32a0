import { describe, expect, test } from "bun:test";
import {
  allAgentEventTypes,
  allClientMessageTypes,
  allServerMessageTypes,
  exampleAgentEvents,
  exampleClientMessages,
  exampleServerMessages,
} from "./examples";
import { MAX_ID_CHARS, MAX_IMAGES, MAX_MESSAGE_CHARS, MAX_PATH_CHARS } from "./limits";
import {
  parseAgentEvent,
  parseBody,
  parseClientMessage,
  parseConversationListQuery,
  parseConversationWindowQuery,
  parseJsonBody,
  parseServerMessage,
} from "./parse";
import {
  ChatRequestBodySchema,
  CompactRequestSchema,
  PermissionAnswerBodySchema,
  QueueRequestSchema,
} from "./schemas";
import type { ProtocolErrorCode } from "./types";

describe("valid frames round-trip", () => {
  test("the examples cover every client message, server message and event type", () => {
    expect(new Set(exampleClientMessages.map((m) => m.type))).toEqual(new Set(allClientMessageTypes));
    expect(new Set(exampleServerMessages.map((m) => m.type))).toEqual(new Set(allServerMessageTypes));
    expect(new Set(exampleAgentEvents.map((e) => e.type))).toEqual(new Set(allAgentEventTypes));
  });

  test.each(exampleClientMessages.map((m) => [`${m.type} ${JSON.stringify(m).slice(0, 60)}`, m] as const))(
    "client %s",
    (_name, message) => {
      expect(parseClientMessage(JSON.stringify(message))).toEqual({ ok: true, message });
    },
  );

  test.each(exampleServerMessages.map((m) => [`${m.type} ${JSON.stringify(m).slice(0, 60)}`, m] as const))(
    "server %s",
    (_name, message) => {
      expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, value: message });
      expect(parseServerMessage(message)).toEqual({ ok: true, value: message });
    },
  );

  test.each(exampleAgentEvents.map((e) => [`${e.type} ${JSON.stringify(e).slice(0, 60)}`, e] as const))(
    "event %s",
    (_name, event) => {
      expect(parseAgentEvent(JSON.stringify(event))).toEqual({ ok: true, value: event });
      expect(parseAgentEvent(event)).toEqual({ ok: true, value: event });
    },
  );

  test("unknown fields are stripped, at the top and nested", () => {
    const frame = {
      type: "chat.send",
      message: "hi",
      future: { x: 1 },
      images: [{ url: "u", width: 3 }],
    };
    expect(parseClientMessage(JSON.stringify(frame))).toEqual({
      ok: true,
      message: { type: "chat.send", message: "hi", images: [{ url: "u" }] },
    });
    const sub = { type: "chat.subscribe", conversationId: "c", resume: { turnId: "t", n: 1, extra: true } };
    expect(parseClientMessage(JSON.stringify(sub))).toEqual({
      ok: true,
      message: { type: "chat.subscribe", conversationId: "c", resume: { turnId: "t", n: 1 } },
    });
  });

  test("values at the size caps are accepted", () => {
    const frame = {
      type: "chat.send",
      id: "i".repeat(MAX_ID_CHARS),
      message: "m".repeat(MAX_MESSAGE_CHARS),
      images: Array.from({ length: MAX_IMAGES }, () => ({ url: "u" })),
    };
    expect(parseClientMessage(JSON.stringify(frame)).ok).toBe(true);
  });
});

// ───────────────────────────── malformed frames ─────────────────────────────

interface Bad {
  name: string;
  frame: string | Uint8Array | ArrayBuffer;
  code: ProtocolErrorCode;
  isChat?: boolean;
  replyToId?: string;
  /** Substrings the message must contain (names the field and the problem). */
  says?: string[];
}

const json = (value: unknown) => JSON.stringify(value);
const send = (fields: Record<string, unknown>) => json({ type: "chat.send", message: "hi", ...fields });
const big = (n: number) => "x".repeat(n);

const malformed: Bad[] = [
  // not JSON
  { name: "empty frame", frame: "", code: "PROTOCOL_INVALID_JSON" },
  { name: "truncated object", frame: '{"type":"ping"', code: "PROTOCOL_INVALID_JSON" },
  { name: "plain text", frame: "hello", code: "PROTOCOL_INVALID_JSON" },
  { name: "single quotes", frame: "{'type':'ping'}", code: "PROTOCOL_INVALID_JSON" },
  { name: "trailing garbage", frame: '{"type":"ping"} x', code: "PROTOCOL_INVALID_JSON" },
  { name: "trailing comma", frame: '{"type":"ping",}', code: "PROTOCOL_INVALID_JSON" },
  { name: "NaN literal", frame: '{"type":"ping","x":NaN}', code: "PROTOCOL_INVALID_JSON" },
  // not an object
  { name: "null", frame: "null", code: "PROTOCOL_NOT_AN_OBJECT", says: ["null"] },
  { name: "empty array", frame: "[]", code: "PROTOCOL_NOT_AN_OBJECT", says: ["array"] },
  { name: "array of a valid message", frame: '[{"type":"ping"}]', code: "PROTOCOL_NOT_AN_OBJECT" },
  { name: "number", frame: "42", code: "PROTOCOL_NOT_AN_OBJECT", says: ["number"] },
  { name: "string", frame: '"ping"', code: "PROTOCOL_NOT_AN_OBJECT", says: ["string"] },
  { name: "boolean", frame: "true", code: "PROTOCOL_NOT_AN_OBJECT" },
  // binary
  { name: "Uint8Array", frame: new Uint8Array([1, 2, 3]), code: "PROTOCOL_BINARY_FRAME" },
  { name: "ArrayBuffer", frame: new ArrayBuffer(4), code: "PROTOCOL_BINARY_FRAME" },
  { name: "Buffer holding valid JSON", frame: Buffer.from('{"type":"ping"}'), code: "PROTOCOL_BINARY_FRAME" },
  // type
  { name: "empty object", frame: "{}", code: "PROTOCOL_MISSING_TYPE", says: ["type"] },
  { name: "id but no type", frame: '{"id":"a"}', code: "PROTOCOL_MISSING_TYPE", replyToId: "a" },
  { name: "type null", frame: '{"type":null}', code: "PROTOCOL_MISSING_TYPE" },
  { name: "type number", frame: '{"type":7}', code: "PROTOCOL_MISSING_TYPE", says: ["number"] },
  { name: "type object", frame: '{"type":{"name":"ping"}}', code: "PROTOCOL_MISSING_TYPE" },
  {
    name: "unknown type",
    frame: '{"type":"foo"}',
    code: "PROTOCOL_UNKNOWN_TYPE",
    says: ["Unknown message type: foo"],
  },
  {
    name: "unknown chat type",
    frame: '{"type":"chat.foo","id":"x"}',
    code: "PROTOCOL_UNKNOWN_TYPE",
    isChat: true,
    replyToId: "x",
  },
  {
    name: "type is case-sensitive",
    frame: '{"type":"Chat.send","message":"hi"}',
    code: "PROTOCOL_UNKNOWN_TYPE",
  },
  { name: "empty type", frame: '{"type":""}', code: "PROTOCOL_UNKNOWN_TYPE" },
  { name: "server message sent by a client", frame: '{"type":"pong"}', code: "PROTOCOL_UNKNOWN_TYPE" },
  { name: "prototype key as type", frame: '{"type":"__proto__"}', code: "PROTOCOL_UNKNOWN_TYPE" },
  { name: "toString as type", frame: '{"type":"toString"}', code: "PROTOCOL_UNKNOWN_TYPE" },
  // chat.send
  {
    name: "chat.send without message",
    frame: json({ type: "chat.send", id: "r" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    replyToId: "r",
    says: ["chat.send: message must be a non-empty string"],
  },
  {
    name: "chat.send empty message",
    frame: send({ message: "" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["message"],
  },
  {
    name: "chat.send numeric message",
    frame: send({ message: 5 }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["message", "number"],
  },
  {
    name: "chat.send null message",
    frame: send({ message: null }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "chat.send reasoningEffort out of range",
    frame: send({ reasoningEffort: "ultra" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["reasoningEffort", "xhigh", "ultra"],
  },
  {
    name: "chat.send reasoningEffort wrong case",
    frame: send({ reasoningEffort: "HIGH" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "chat.send images not an array",
    frame: send({ images: "a.png" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["images"],
  },
  {
    name: "chat.send image without url",
    frame: send({ images: [{}] }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["images[0].url"],
  },
  {
    name: "chat.send too many images",
    frame: send({ images: Array.from({ length: MAX_IMAGES + 1 }, () => ({ url: "u" })) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
    says: ["images"],
  },
  {
    name: "chat.send oversized message",
    frame: send({ message: big(MAX_MESSAGE_CHARS + 1) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
    says: ["message", String(MAX_MESSAGE_CHARS)],
  },
  { name: "chat.send empty model", frame: send({ model: "" }), code: "PROTOCOL_INVALID_FIELD", isChat: true },
  {
    name: "chat.send oversized conversationId",
    frame: send({ conversationId: big(MAX_ID_CHARS + 1) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
    says: ["conversationId"],
  },
  {
    name: "chat.send oversized cwd",
    frame: send({ cwd: big(MAX_PATH_CHARS + 1) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
  },
  {
    name: "chat.send relative cwd",
    frame: send({ cwd: "src/../.." }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["cwd", "absolute"],
  },
  {
    name: "chat.send numeric workspaceId",
    frame: send({ workspaceId: 5 }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "chat.send empty computerId",
    frame: send({ computerId: "" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "numeric id is invalid and not echoed",
    frame: send({ id: 42 }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["id"],
  },
  {
    // Not echoed: a 1 MB id would come back whole in replyTo.
    name: "oversized id is refused and not echoed",
    frame: send({ id: big(MAX_ID_CHARS + 1) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
    says: [`id must be at most ${MAX_ID_CHARS} characters`],
  },
  {
    name: "a 1 MB id is not echoed either",
    frame: send({ id: big(1024 * 1024) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
  },
  // surface ops
  {
    name: "subscribe without surfaceId",
    frame: '{"type":"subscribe","id":"s"}',
    code: "PROTOCOL_INVALID_FIELD",
    replyToId: "s",
    says: ["subscribe: surfaceId"],
  },
  {
    name: "subscribe numeric surfaceId",
    frame: '{"type":"subscribe","surfaceId":3}',
    code: "PROTOCOL_INVALID_FIELD",
  },
  {
    name: "unsubscribe object conversationId",
    frame: '{"type":"unsubscribe","surfaceId":"s","conversationId":{}}',
    code: "PROTOCOL_INVALID_FIELD",
    says: ["conversationId"],
  },
  {
    name: "invoke without actionId",
    frame: '{"type":"invoke","surfaceId":"s"}',
    code: "PROTOCOL_INVALID_FIELD",
    says: ["invoke: actionId"],
  },
  // other chat ops
  {
    name: "chat.subscribe without conversationId",
    frame: '{"type":"chat.subscribe"}',
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["conversationId"],
  },
  {
    name: "chat.subscribe resume without n",
    frame: json({ type: "chat.subscribe", conversationId: "c", resume: { turnId: "t" } }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["resume.n"],
  },
  {
    name: "chat.subscribe negative n",
    frame: json({ type: "chat.subscribe", conversationId: "c", resume: { turnId: "t", n: -1 } }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "chat.subscribe fractional n",
    frame: json({ type: "chat.subscribe", conversationId: "c", resume: { turnId: "t", n: 1.5 } }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["integer"],
  },
  {
    name: "chat.subscribe resume not an object",
    frame: json({ type: "chat.subscribe", conversationId: "c", resume: "t" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "chat.unsubscribe empty conversationId",
    frame: '{"type":"chat.unsubscribe","conversationId":""}',
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  {
    name: "chat.queue without text",
    frame: '{"type":"chat.queue","conversationId":"c"}',
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["chat.queue: text"],
  },
  {
    name: "chat.queue whitespace-only text",
    frame: '{"type":"chat.queue","conversationId":"c","text":" \\n\\t "}',
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["chat.queue: text", "non-whitespace"],
  },
  {
    name: "chat.queue oversized text",
    frame: json({ type: "chat.queue", conversationId: "c", text: big(MAX_MESSAGE_CHARS + 1) }),
    code: "PROTOCOL_TOO_LARGE",
    isChat: true,
  },
  {
    name: "chat.queue.cancel without messageId",
    frame: '{"type":"chat.queue.cancel","conversationId":"c"}',
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["messageId"],
  },
  {
    name: "chat.stop array conversationId",
    frame: '{"type":"chat.stop","conversationId":["c"]}',
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["array"],
  },
  {
    name: "chat.permission unknown decision",
    frame: json({ type: "chat.permission", conversationId: "c", requestId: "p", decision: "maybe" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
    says: ["decision", "allow"],
  },
  {
    name: "chat.permission without requestId",
    frame: json({ type: "chat.permission", conversationId: "c", decision: "allow" }),
    code: "PROTOCOL_INVALID_FIELD",
    isChat: true,
  },
  { name: "ping with object id", frame: '{"type":"ping","id":{}}', code: "PROTOCOL_INVALID_FIELD" },
];

describe("malformed frames", () => {
  test("the table has at least 40 rows", () => {
    expect(malformed.length).toBeGreaterThanOrEqual(40);
  });

  test.each(malformed.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    const result = parseClientMessage(row.frame);
    if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.message).slice(0, 200)}`);
    const { error } = result;
    expect(error.code).toBe(row.code);
    expect(error.isChat).toBe(row.isChat ?? false);
    expect(error.replyToId).toBe(row.replyToId);
    for (const text of row.says ?? []) expect(error.message).toContain(text);
    expect(error.message.length).toBeLessThan(1000);
  });
});

describe("HTTP bodies and queries", () => {
  test("parseBody validates and strips, naming the label and field", () => {
    expect(parseBody(ChatRequestBodySchema, { message: "hi", x: 1 }, "POST /chat")).toEqual({
      ok: true,
      value: { message: "hi" },
    });
    expect(parseBody(ChatRequestBodySchema, {}, "POST /chat")).toEqual({
      ok: false,
      error: {
        code: "PROTOCOL_INVALID_FIELD",
        message: "POST /chat: message must be a non-empty string",
        isChat: false,
      },
    });
    const bad = parseBody(QueueRequestSchema, { text: big(MAX_MESSAGE_CHARS + 1) });
    expect(bad.ok ? undefined : bad.error.code).toBe("PROTOCOL_TOO_LARGE");
    const notObject = parseBody(PermissionAnswerBodySchema, null);
    expect(notObject.ok ? undefined : notObject.error.code).toBe("PROTOCOL_NOT_AN_OBJECT");
    const decision = parseBody(PermissionAnswerBodySchema, { decision: "yes" });
    expect(decision.ok ? undefined : decision.error.message).toContain("decision");
  });

  test("parseJsonBody decodes first", () => {
    expect(parseJsonBody(CompactRequestSchema, '{"keepLastN":4}')).toEqual({
      ok: true,
      value: { keepLastN: 4 },
    });
    const invalid = parseJsonBody(CompactRequestSchema, "{");
    expect(invalid.ok ? undefined : invalid.error.code).toBe("PROTOCOL_INVALID_JSON");
    const negative = parseJsonBody(CompactRequestSchema, '{"keepLastN":-1}');
    expect(negative.ok ? undefined : negative.error.code).toBe("PROTOCOL_INVALID_FIELD");
  });

  test("list query: comma-separated statuses and integer limit", () => {
    expect(parseConversationListQuery(new URLSearchParams("status=active, idle&limit=20&q=x"))).toEqual({
      ok: true,
      value: { status: ["active", "idle"], limit: 20, q: "x" },
    });
    expect(parseConversationListQuery({})).toEqual({ ok: true, value: {} });
    const status = parseConversationListQuery(new URLSearchParams("status=active,bogus"));
    expect(status.ok ? undefined : status.error.message).toContain("status[1]");
    const limit = parseConversationListQuery(new URLSearchParams("limit=-3"));
    expect(limit.ok ? undefined : limit.error.message).toContain("limit");
    const zero = parseConversationListQuery({ limit: "0" });
    expect(zero.ok ? undefined : zero.error.code).toBe("PROTOCOL_INVALID_FIELD");
  });

  test("window query: seq bounds", () => {
    expect(parseConversationWindowQuery(new URLSearchParams("sinceSeq=0&beforeSeq=10&limit=5"))).toEqual({
      ok: true,
      value: { sinceSeq: 0, beforeSeq: 10, limit: 5 },
    });
    const bad = parseConversationWindowQuery(new URLSearchParams("sinceSeq=abc"));
    expect(bad.ok ? undefined : bad.error.message).toBe(
      "GET /conversations/:id: sinceSeq must be a non-negative integer",
    );
  });

  test("events and server messages report problems as values", () => {
    const missing = parseAgentEvent({ type: "text-delta", conversationId: "c", turnId: "t" });
    expect(missing.ok ? undefined : missing.error.message).toBe("AgentEvent: delta is required");
    const unknown = parseAgentEvent('{"type":"nope","conversationId":"c"}');
    expect(unknown.ok ? undefined : unknown.error.code).toBe("PROTOCOL_INVALID_FIELD");
    const binary = parseServerMessage(new Uint8Array([1]));
    expect(binary.ok ? undefined : binary.error.code).toBe("PROTOCOL_BINARY_FRAME");
    const array = parseServerMessage([]);
    expect(array.ok ? undefined : array.error.code).toBe("PROTOCOL_NOT_AN_OBJECT");
  });
});
