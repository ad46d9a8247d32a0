import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { allClientMessageTypes, exampleClientMessages } from "./examples";
import { parseClientMessage } from "./parse";
import type { ParseClientMessageResult, ProtocolErrorCode } from "./types";

const codes = new Set<ProtocolErrorCode>([
  "PROTOCOL_INVALID_JSON",
  "PROTOCOL_NOT_AN_OBJECT",
  "PROTOCOL_BINARY_FRAME",
  "PROTOCOL_MISSING_TYPE",
  "PROTOCOL_UNKNOWN_TYPE",
  "PROTOCOL_INVALID_FIELD",
  "PROTOCOL_TOO_LARGE",
]);

/** Field names of every client message, so mutations hit real fields most of the time. */
const fieldNames = [
  ...new Set(exampleClientMessages.flatMap((m) => Object.keys(m))),
  "resume",
  "images",
  "payload",
  "__proto__",
  "constructor",
];

/** The invariants of any result: a well-formed value, never an exception. */
function checkResult(result: ParseClientMessageResult): void {
  if (result.ok) {
    expect(allClientMessageTypes).toContain(result.message.type);
    // A parsed message re-parses to itself: what the parser accepts is a fixed point.
    expect(parseClientMessage(JSON.stringify(result.message))).toEqual(result);
    return;
  }
  expect(codes.has(result.error.code)).toBe(true);
  expect(typeof result.error.message).toBe("string");
  expect(result.error.message.length).toBeGreaterThan(0);
  expect(typeof result.error.isChat).toBe("boolean");
  if (result.error.replyToId !== undefined) expect(typeof result.error.replyToId).toBe("string");
}

describe("parseClientMessage never throws", () => {
  test("on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.json()), (raw) => {
        checkResult(parseClientMessage(raw));
      }),
      { numRuns: 500 },
    );
  });

  test("on arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        checkResult(parseClientMessage(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  test("on binary frames", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const result = parseClientMessage(bytes);
        expect(result.ok ? undefined : result.error.code).toBe("PROTOCOL_BINARY_FRAME");
      }),
    );
  });

  test("on objects with a valid type and random fields", () => {
    const frame = fc.record({
      type: fc.constantFrom(...allClientMessageTypes),
      fields: fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), fc.string()), fc.jsonValue()),
    });
    fc.assert(
      fc.property(frame, ({ type, fields }) => {
        const result = parseClientMessage(JSON.stringify({ ...fields, type }));
        checkResult(result);
        if (result.ok) expect(result.message.type).toBe(type);
        else {
          expect(["PROTOCOL_INVALID_FIELD", "PROTOCOL_TOO_LARGE"]).toContain(result.error.code);
          expect(result.error.isChat).toBe(type.startsWith("chat."));
          expect(result.error.message.startsWith(`${type}: `)).toBe(true);
          expect(result.error.replyToId).toBe(typeof fields.id === "string" ? fields.id : undefined);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test("on valid messages with one field replaced or removed", () => {
    const mutation = fc.record({
      message: fc.constantFrom(...exampleClientMessages),
      key: fc.constantFrom(...fieldNames),
      value: fc.option(fc.jsonValue(), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ message, key, value }) => {
        const mutated: Record<string, unknown> = { ...message };
        if (value === undefined) delete mutated[key];
        else mutated[key] = value;
        checkResult(parseClientMessage(JSON.stringify(mutated)));
      }),
      { numRuns: 1000 },
    );
  });
});
