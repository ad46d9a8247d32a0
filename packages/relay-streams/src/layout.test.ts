import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "@dispatch/protocol/types";
import {
  compareStreamIds,
  conversationKeys,
  decodeEntry,
  decodeShare,
  decodeShareNotice,
  entryFields,
  eventStreamId,
  parseStreamId,
  xreadStreams,
} from "./layout";

const any = (e: unknown) => e as AgentEvent;
const ev = { type: "text-delta", conversationId: "c", turnId: "t", delta: "hi" } as AgentEvent;

describe("the Redis layout", () => {
  test("every key of a conversation shares one cluster hash tag", () => {
    const k = conversationKeys("p:", "abc");
    for (const key of Object.values(k)) expect(key.startsWith("p:{c:abc}:")).toBe(true);
  });

  test("stream ids order by turn start, then n; malformed ones are refused", () => {
    expect(eventStreamId(1700, 3)).toBe("1700-3");
    expect(parseStreamId("1700-3")).toEqual({ ms: 1700, seq: 3 });
    expect(parseStreamId("17x-3")).toBeUndefined();
    expect(compareStreamIds("1700-3", "1700-10")).toBeLessThan(0);
    expect(compareStreamIds("1701-1", "1700-10")).toBeGreaterThan(0);
    expect(compareStreamIds("5-5", "5-5")).toBe(0);
  });

  test("an entry round-trips and keeps the stored JSON; malformed entries say why", () => {
    const d = decodeEntry(["1700-2", entryFields("t", 2, ev)], any);
    expect(d).toEqual({
      ok: true,
      value: { id: "1700-2", turnId: "t", n: 2, event: ev, json: JSON.stringify(ev) },
    });
    expect(decodeEntry("x", any)).toMatchObject({ ok: false });
    expect(decodeEntry(["1700-2", ["t", "t", "n", "0", "e", "{}"]], any)).toMatchObject({ ok: false });
    expect(decodeEntry(["1700-2", ["t", "t", "n", "1", "e", "{nope"]], any)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("no JSON"),
    });
    expect(decodeEntry(["1700-2", entryFields("t", 1, ev)], () => undefined)).toMatchObject({ ok: false });
  });

  test("XREAD replies in RESP3 (object) and RESP2 (pairs) shapes", () => {
    const entries = [["1-1", ["t", "t"]]];
    expect(xreadStreams({ k: entries }).get("k")).toEqual(entries);
    expect(xreadStreams([["k", entries]]).get("k")).toEqual(entries);
    expect(xreadStreams(null).size).toBe(0);
  });

  test("share records and notices are validated", () => {
    const rec = { shareId: "s", conversationId: "c", secretHash: "a".repeat(64), createdAt: 1, expiresAt: 2 };
    expect(decodeShare(JSON.stringify(rec))).toEqual(rec);
    expect(decodeShare(JSON.stringify({ ...rec, secretHash: "short" }))).toBeUndefined();
    expect(decodeShare(JSON.stringify({ ...rec, revokedAt: "yes" }))).toBeUndefined();
    expect(decodeShare("{")).toBeUndefined();
    expect(decodeShareNotice('{"shareId":"s","conversationId":"c","revoked":true}')).toEqual({
      shareId: "s",
      conversationId: "c",
      revoked: true,
    });
    expect(decodeShareNotice("[]")).toBeUndefined();
  });
});
