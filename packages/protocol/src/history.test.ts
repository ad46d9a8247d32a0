import { describe, expect, test } from "bun:test";
import { parseBody, parseJsonBody } from "./parse";
import { ChunkSchema, ConversationWindowResponseSchema, StoredChunkSchema } from "./schemas";
import type { Chunk, ProtocolErrorCode, Role, StoredChunk } from "./types";

/** One chunk of every type, with and without the optional fields (PROTOCOL.md §5). */
const chunks: Chunk[] = [
  { type: "text", text: "Hello" },
  { type: "text", text: "" },
  { type: "thinking", text: "Let me look." },
  { type: "thinking", text: "signed", signature: "sig-abc" },
  { type: "tool-call", toolCallId: "call-1", toolName: "read_file", input: { path: "a.ts" } },
  { type: "tool-call", toolCallId: "call-2", toolName: "noop", input: null, stepId: "s1" },
  { type: "tool-result", toolCallId: "call-1", toolName: "read_file", content: "x", isError: false },
  {
    type: "tool-result",
    toolCallId: "call-2",
    toolName: "noop",
    content: "denied",
    isError: true,
    stepId: "s1",
  },
  { type: "error", message: "model unreachable" },
  { type: "error", message: "rate limited", code: "PROVIDER_RATE_LIMIT" },
  { type: "system", text: "Summary of earlier messages" },
  { type: "image", url: "data:image/png;base64,AAAA" },
  { type: "image", url: "https://example.com/a.png", mimeType: "image/png" },
];

/** Every chunk type and role (a `Record` so the compiler proves the lists exhaustive). */
const chunkTypes: Record<Chunk["type"], true> = {
  text: true,
  thinking: true,
  "tool-call": true,
  "tool-result": true,
  error: true,
  system: true,
  image: true,
};
const roles: Record<Role, true> = { system: true, user: true, assistant: true, tool: true };

const stored: StoredChunk[] = chunks.map((chunk, i) => ({
  seq: i + 1,
  role: Object.keys(roles)[i % 4] as Role,
  chunk,
  ...(i % 2 === 0 ? { messageId: `m-${Math.floor(i / 2)}` } : {}),
}));

describe("chunks and stored chunks round-trip", () => {
  test("the examples cover every chunk type and role", () => {
    expect(new Set<string>(chunks.map((c) => c.type))).toEqual(new Set(Object.keys(chunkTypes)));
    expect(new Set<string>(stored.map((c) => c.role))).toEqual(new Set(Object.keys(roles)));
  });

  test.each(stored.map((s) => [`${s.chunk.type} #${s.seq}`, s] as const))("%s", (_name, s) => {
    expect(parseJsonBody(StoredChunkSchema, JSON.stringify(s))).toEqual({ ok: true, value: s });
    expect(ChunkSchema.parse(JSON.parse(JSON.stringify(s.chunk)))).toEqual(s.chunk);
  });

  test("a window response carries them unchanged", () => {
    const body = { chunks: stored, latestSeq: stored.length };
    expect(parseJsonBody(ConversationWindowResponseSchema, JSON.stringify(body))).toEqual({
      ok: true,
      value: body,
    });
  });
});

const valid: StoredChunk = { seq: 1, role: "assistant", chunk: { type: "text", text: "hi" } };
const malformed: { name: string; value: unknown; code: ProtocolErrorCode; says: string }[] = [
  {
    name: "seq 0 (seq is 1-based)",
    value: { ...valid, seq: 0 },
    code: "PROTOCOL_INVALID_FIELD",
    says: "seq",
  },
  { name: "fractional seq", value: { ...valid, seq: 1.5 }, code: "PROTOCOL_INVALID_FIELD", says: "seq" },
  { name: "seq as a string", value: { ...valid, seq: "1" }, code: "PROTOCOL_INVALID_FIELD", says: "seq" },
  { name: "unknown role", value: { ...valid, role: "robot" }, code: "PROTOCOL_INVALID_FIELD", says: "role" },
  { name: "no chunk", value: { seq: 1, role: "user" }, code: "PROTOCOL_INVALID_FIELD", says: "chunk" },
  {
    name: "unknown chunk type",
    value: { ...valid, chunk: { type: "video", url: "u" } },
    code: "PROTOCOL_INVALID_FIELD",
    says: "chunk.type",
  },
  {
    name: "text chunk without text",
    value: { ...valid, chunk: { type: "text" } },
    code: "PROTOCOL_INVALID_FIELD",
    says: "chunk.text",
  },
  {
    name: "tool result with a string isError",
    value: {
      ...valid,
      chunk: { type: "tool-result", toolCallId: "c", toolName: "t", content: "", isError: "no" },
    },
    code: "PROTOCOL_INVALID_FIELD",
    says: "chunk.isError",
  },
  {
    name: "numeric messageId",
    value: { ...valid, messageId: 7 },
    code: "PROTOCOL_INVALID_FIELD",
    says: "messageId",
  },
  { name: "an array", value: [valid], code: "PROTOCOL_NOT_AN_OBJECT", says: "array" },
];

describe("malformed stored chunks are values naming the field", () => {
  test.each(malformed.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    const result = parseBody(StoredChunkSchema, row.value, "StoredChunk");
    if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.value)}`);
    expect(result.error.code).toBe(row.code);
    expect(result.error.message).toStartWith("StoredChunk: ");
    expect(result.error.message).toContain(row.says);
  });
});
