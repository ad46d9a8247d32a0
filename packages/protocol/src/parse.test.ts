import { describe, expect, test } from "bun:test";
import { parseClientMessage } from "./parse";

describe("parseClientMessage", () => {
  test("accepts a chat.send and strips unknown fields", () => {
    const result = parseClientMessage('{"type":"chat.send","id":"r1","message":"hi","extra":true}');
    expect(result).toEqual({ ok: true, message: { type: "chat.send", id: "r1", message: "hi" } });
  });

  test("names the type, the field and the problem", () => {
    const result = parseClientMessage('{"type":"chat.send","id":"r2"}');
    expect(result).toEqual({
      ok: false,
      error: {
        code: "PROTOCOL_INVALID_FIELD",
        message: "chat.send: message must be a non-empty string",
        replyToId: "r2",
        isChat: true,
      },
    });
  });

  test("unknown type", () => {
    const result = parseClientMessage('{"type":"foo"}');
    expect(result).toEqual({
      ok: false,
      error: { code: "PROTOCOL_UNKNOWN_TYPE", message: "Unknown message type: foo", isChat: false },
    });
  });
});
