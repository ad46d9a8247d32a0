import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentEvent } from "@dispatch/protocol/types";
import { purityViolations } from "@dispatch/testkit";
import {
  Batcher,
  type BatchTimers,
  batchText,
  channelKey,
  channelMatches,
  DEFAULT_WAIT_MS,
  deltaFrame,
  deltaText,
  formatCursor,
  formatEventId,
  MAX_CHANNEL_CHARS,
  parseChannel,
  parseCursor,
  parseEventId,
  parseWaitMs,
  SseParser,
  serializeEvent,
  sseComment,
  sseFrame,
} from "./index";

describe("channels", () => {
  test("the three kinds parse, and their keys are canonical", () => {
    expect(parseChannel("conversation:c-1")).toEqual({
      ok: true,
      channel: { kind: "conversation", conversationId: "c-1" },
    });
    expect(parseChannel("conversation:*")).toEqual({ ok: true, channel: { kind: "all" } });
    expect(parseChannel("workspace:w:1:*")).toEqual({
      ok: true,
      channel: { kind: "workspace", workspaceId: "w:1" },
    });
    for (const raw of ["conversation:c-1", "conversation:*", "workspace:w:1:*"]) {
      const r = parseChannel(raw);
      if (!r.ok) throw new Error(raw);
      expect(channelKey(r.channel)).toBe(raw);
    }
  });

  test("malformed channels are refused with a code that names the problem", () => {
    const cases: [unknown, string, string][] = [
      ["conversation:", "CHANNEL_INVALID", "empty"],
      ["**", "CHANNEL_UNKNOWN_PREFIX", "unknown prefix"],
      ["conversation:**", "CHANNEL_INVALID", "wildcard"],
      ["conversation:a*", "CHANNEL_INVALID", "wildcard"],
      ["workspace:w", "CHANNEL_INVALID", "ends with :*"],
      ["workspace::*", "CHANNEL_INVALID", "empty"],
      ["workspace:*", "CHANNEL_INVALID", "ends with :*"],
      ["workspace:a*:*", "CHANNEL_INVALID", "wildcard"],
      ["surface:x", "CHANNEL_UNKNOWN_PREFIX", "unknown prefix"],
      ["", "CHANNEL_INVALID", "non-empty"],
      [42, "CHANNEL_INVALID", "non-empty"],
      [`conversation:${"x".repeat(10_000)}`, "CHANNEL_TOO_LONG", `${MAX_CHANNEL_CHARS}`],
      ["conversation:a\nb", "CHANNEL_INVALID", "control"],
    ];
    for (const [raw, code, words] of cases) {
      const r = parseChannel(raw);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect({ raw, code: r.error.code as string }).toEqual({ raw, code });
      expect(r.error.message).toContain(words);
      expect(r.error.message.length).toBeLessThan(300);
    }
  });

  test("matching", () => {
    const all = { kind: "all" } as const;
    const ws = { kind: "workspace", workspaceId: "w" } as const;
    const one = { kind: "conversation", conversationId: "c" } as const;
    expect(channelMatches(all, "x", undefined)).toBe(true);
    expect(channelMatches(ws, "x", "w")).toBe(true);
    expect(channelMatches(ws, "x", "v")).toBe(false);
    expect(channelMatches(ws, "x", undefined)).toBe(false);
    expect(channelMatches(one, "c", "w")).toBe(true);
    expect(channelMatches(one, "d", "w")).toBe(false);
  });
});

describe("positions", () => {
  test("event ids round-trip, conversation ids may hold colons", () => {
    const id = formatEventId("conv:with:colons", "t-1", 7);
    expect(parseEventId(id)).toEqual({
      ok: true,
      value: { conversationId: "conv:with:colons", resume: { turnId: "t-1", n: 7 } },
    });
    expect(parseCursor(formatCursor({ turnId: "t-1", n: 0 }))).toEqual({
      ok: true,
      value: { turnId: "t-1", n: 0 },
    });
  });

  test("a wildcard stream's ids carry a place on the event clock, and round-trip", () => {
    const place = { clock: "0a1b2c3d4e5f6071", at: 1234 };
    const id = formatEventId("conv:with:colons", "t-1", 7, place);
    expect(id).toBe("conv:with:colons:t-1:7@0a1b2c3d4e5f6071.1234");
    expect(parseEventId(id)).toEqual({
      ok: true,
      value: { conversationId: "conv:with:colons", resume: { turnId: "t-1", n: 7 }, place },
    });
    // A conversation id holding an @ is still a plain id when nothing place-like ends it.
    expect(parseEventId("a@b:t:3")).toEqual({
      ok: true,
      value: { conversationId: "a@b", resume: { turnId: "t", n: 3 } },
    });
    for (const raw of ["a:t:1@", "a:t:1@zz.1", "a:t:1@ab.", "@ab.1", "a:t:x@ab.1"]) {
      const r = parseEventId(raw);
      expect({ raw, ok: r.ok }).toEqual({ raw, ok: false });
    }
  });

  test("garbage is refused with a clear code", () => {
    for (const raw of [
      "",
      "x",
      "a:b",
      "a:b:",
      "a:b:-1",
      "a:b:1.5",
      ":t:1",
      "a::1",
      "a:b:99999999999",
      "a:b:c",
    ]) {
      const r = parseEventId(raw);
      expect({ raw, ok: r.ok }).toEqual({ raw, ok: false });
      if (!r.ok) expect(r.error.code).toBe("STREAM_INVALID_EVENT_ID");
    }
    for (const raw of ["", "t", "t:", ":1", "t:x", "t:-1", "a:b:1"]) {
      const r = parseCursor(raw);
      expect({ raw, ok: r.ok }).toEqual({ raw, ok: false });
      if (!r.ok) expect(r.error.code).toBe("STREAM_INVALID_CURSOR");
    }
  });

  test("waitMs: 0..30000, default when absent", () => {
    expect(parseWaitMs(null)).toEqual({ ok: true, value: DEFAULT_WAIT_MS });
    expect(parseWaitMs("0")).toEqual({ ok: true, value: 0 });
    expect(parseWaitMs("30000")).toEqual({ ok: true, value: 30_000 });
    for (const raw of ["30001", "-1", "1.5", "", "abc", "1e3", "9999999"]) {
      const r = parseWaitMs(raw);
      expect({ raw, ok: r.ok }).toEqual({ raw, ok: false });
      if (!r.ok) expect(r.error.message).toContain("0 to 30000");
    }
  });
});

describe("frames from one serialization", () => {
  const event: AgentEvent = { type: "text-delta", conversationId: "c", turnId: "t", delta: 'he said "hi"\n' };
  test("the texts equal JSON.stringify of the frames", () => {
    const s = serializeEvent(event, 3);
    expect(deltaText(s)).toBe(JSON.stringify({ type: "chat.delta", event, n: 3 }));
    expect(deltaText(serializeEvent(event, undefined))).toBe(JSON.stringify({ type: "chat.delta", event }));
    expect(batchText([s, serializeEvent(event, 4)])).toBe(
      JSON.stringify({
        type: "chat.batch",
        events: [
          { event, n: 3 },
          { event, n: 4 },
        ],
      }),
    );
  });

  test("a delta frame made in one stringify is the same text as from the serialization", () => {
    const status: AgentEvent = { type: "status", conversationId: "c", status: "idle" };
    for (const e of [event, status])
      for (const n of [undefined, 0, 7]) expect(deltaFrame(e, n)).toBe(deltaText(serializeEvent(e, n)));
  });

  test("SSE frames parse back, comments are skipped, chunks may split anywhere", () => {
    const text = `${sseComment("keep-alive")}${sseFrame('{"a":1}', "c:t:1")}${sseFrame('{"b":2}')}`;
    for (let cut = 0; cut <= text.length; cut += 3) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(got).toEqual([{ id: "c:t:1", data: '{"a":1}' }, { data: '{"b":2}' }]);
    }
    expect(sseFrame("{}", "a\nb")).toBe("id: ab\ndata: {}\n\n");
  });
});

/** Timers run by hand. */
function manualTimers(): BatchTimers & { fire(): void; armed(): number } {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    set(fn) {
      pending.set(++next, fn);
      return next;
    },
    clear(h) {
      pending.delete(h as number);
    },
    fire() {
      for (const [h, fn] of [...pending]) {
        pending.delete(h);
        fn();
      }
    },
    armed: () => pending.size,
  };
}

describe("batching window", () => {
  test("a turn's events within the window leave together; another group flushes first", () => {
    const timers = manualTimers();
    const sent: number[][] = [];
    const b = new Batcher<number>(50, (items) => sent.push(items), timers);
    b.push("t1", 1);
    b.push("t1", 2);
    expect(sent).toEqual([]);
    expect(timers.armed()).toBe(1);
    b.push("t2", 3);
    expect(sent).toEqual([[1, 2]]);
    timers.fire();
    expect(sent).toEqual([[1, 2], [3]]);
    b.flush();
    expect(sent.length).toBe(2);
  });

  test("every item exactly once, in order, whatever the interleaving (full batches included)", () => {
    const timers = manualTimers();
    const sent: number[][] = [];
    const b = new Batcher<number>(10, (items) => sent.push(items), timers, 4);
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 500; i++) {
      b.push(rand() < 0.2 ? "a" : "b", i);
      if (rand() < 0.1) timers.fire();
      if (rand() < 0.05) b.flush();
    }
    b.flush();
    expect(sent.flat()).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(Math.max(...sent.map((s) => s.length))).toBeLessThanOrEqual(4);
    expect(timers.armed()).toBe(0);
  });
});

describe("event-streams purity", () => {
  test("no I/O, no runtime: a relay and every transport can use it", () => {
    const dir = import.meta.dir;
    const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
    const problems = sources.flatMap((f) =>
      purityViolations(`event-streams/src/${f}`, readFileSync(join(dir, f), "utf8")).filter(
        (p) => !p.includes("names no other package"),
      ),
    );
    expect(problems).toEqual([]);
  });
});
