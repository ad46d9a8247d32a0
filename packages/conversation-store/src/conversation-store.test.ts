import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "@dispatch/kernel";
import type { AppendMessage } from "./contract";
import { WINDOW_SQL } from "./statements";
import {
  codeOf,
  fill,
  injectChunkFailure,
  msg,
  openTestStore,
  seqs,
  snapshot,
  steppingClock,
  tempDb,
  text,
  unwrap,
} from "./test-support";

describe("appendStep", () => {
  test("assigns consecutive 1-based seqs across steps and messages", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    const step: AppendMessage[] = [
      msg("u1", "user", text("hello")),
      msg("a1", "assistant", text("hi"), { type: "thinking", text: "hmm" }),
    ];
    expect(unwrap(store.appendStep("c", step))).toEqual({ firstSeq: 1, lastSeq: 3 });
    expect(unwrap(store.appendStep("c", [msg("a1", "assistant", text("more"))]))).toEqual({
      firstSeq: 4,
      lastSeq: 4,
    });
    const w = unwrap(store.readWindow("c"));
    expect(w.chunks).toEqual([
      { seq: 1, role: "user", chunk: text("hello"), messageId: "u1" },
      { seq: 2, role: "assistant", chunk: text("hi"), messageId: "a1" },
      { seq: 3, role: "assistant", chunk: { type: "thinking", text: "hmm" }, messageId: "a1" },
      { seq: 4, role: "assistant", chunk: text("more"), messageId: "a1" },
    ]);
    expect(store.getConversation("c")?.lastSeq).toBe(4);
  });

  test("with view: the appended messages as loadHistory shows them, so a held view extends", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    const call = {
      type: "tool-call" as const,
      toolCallId: "t1",
      toolName: "read_file",
      input: { path: "a" },
    };
    const result = {
      type: "tool-result" as const,
      toolCallId: "t1",
      toolName: "read_file",
      content: "x",
      isError: false,
    };
    let held = unwrap(store.appendStep("c", [msg("u1", "user", text("hello"))], {}, { view: true })).view!;
    const steps: AppendMessage[][] = [
      [msg("a1", "assistant", text("calling"), call), msg("r1", "tool", result)],
      // Error-only assistant messages are left out of the view, and a dangling call gets its result.
      [msg("a2", "assistant", { type: "error", message: "boom" })],
      [msg("a3", "assistant", { ...call, toolCallId: "t2" })],
      [{ ...msg("u2", "user", text("steer")), turnId: "turn-1" }],
    ];
    for (const step of steps) {
      const r = unwrap(store.appendStep("c", step, {}, { view: true }));
      held = [...held, ...r.view!];
      expect(held).toEqual(unwrap(store.loadHistory("c")).messages);
    }
    // A chunk joining a message already in the log: no view of the step alone.
    const joined = unwrap(store.appendStep("c", [msg("a3", "assistant", text("more"))], {}, { view: true }));
    expect(joined.view).toBeUndefined();
    expect(unwrap(store.appendStep("c", [msg("u3", "user", text("no view"))])).view).toBeUndefined();
  });

  test("seqs are per conversation", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "a", 3);
    expect(unwrap(store.appendStep("b", [msg("x", "user", text("x"))]))).toEqual({ firstSeq: 1, lastSeq: 1 });
  });

  test("creates a missing conversation from init, titled by the first user text", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file, { now: steppingClock(5000) });
    unwrap(
      store.appendStep(
        "new",
        [msg("s", "system", text("be brief")), msg("u", "user", text("  Refactor\nthe parser  "))],
        { model: "local/echo", cwd: "/tmp/p", reasoningEffort: "high", workspaceId: "proj-1" },
      ),
    );
    const c = store.getConversation("new");
    expect(c).toMatchObject({
      id: "new",
      title: "Refactor the parser",
      status: "idle",
      workspaceId: "proj-1",
      model: "local/echo",
      cwd: "/tmp/p",
      reasoningEffort: "high",
      lastSeq: 2,
    });
    expect(c?.lastActivityAt).toBeGreaterThan(c?.createdAt ?? Infinity);
    expect(store.getWorkspace("proj-1")?.title).toBe("proj-1");
  });

  test("a conversation created without a title takes it from its first user text later", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.ensureConversation({ id: "c" }));
    unwrap(store.appendStep("c", [msg("a", "assistant", text("welcome"))]));
    expect(store.getConversation("c")?.title).toBe("");
    unwrap(store.appendStep("c", [msg("u", "user", text("first question"))]));
    unwrap(store.appendStep("c", [msg("u2", "user", text("second question"))]));
    expect(store.getConversation("c")?.title).toBe("first question");
  });

  test("invalid input is refused with STORE_INVALID_INPUT and writes nothing", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 1);
    const bad: unknown[] = [
      [],
      [{ messageId: "m", role: "robot", chunks: [text("x")] }],
      [{ messageId: "m", role: "user", chunks: [] }],
      [{ messageId: "", role: "user", chunks: [text("x")] }],
      [{ messageId: "m", role: "user", chunks: [{ type: "text" }] }],
      [{ messageId: "m", role: "user", chunks: [{ type: "video", url: "x" }] }],
      [{ messageId: "m", role: "assistant", chunks: [{ type: "tool-call", toolName: "x", input: 1 }] }],
      [{ messageId: "m", role: "tool", chunks: [{ type: "tool-result", toolCallId: "a", toolName: "x" }] }],
      "not an array",
    ];
    for (const messages of bad) {
      expect(codeOf(store.appendStep("c", messages as AppendMessage[]))).toBe("STORE_INVALID_INPUT");
    }
    expect(codeOf(store.appendStep("", [msg("m", "user", text("x"))]))).toBe("STORE_INVALID_INPUT");
    expect(
      codeOf(store.appendStep("c", [msg("m", "user", text("x"))], { reasoningEffort: "huge" as "high" })),
    ).toBe("STORE_INVALID_INPUT");
    expect(store.getConversation("c")?.lastSeq).toBe(1);
    expect(seqs(unwrap(store.readWindow("c")).chunks)).toEqual([1]);
  });

  test("unknown chunk keys are stripped before storing", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    const chunk = { type: "text", text: "x", secret: "drop me" } as unknown as ReturnType<typeof text>;
    unwrap(store.appendStep("c", [msg("m", "user", chunk)]));
    expect(unwrap(store.readWindow("c")).chunks[0]?.chunk).toEqual(text("x"));
  });

  test("continuing a message with another role is refused", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.appendStep("c", [msg("m", "assistant", text("x"))]));
    const r = store.appendStep("c", [msg("n", "user", text("ok")), msg("m", "user", text("y"))]);
    expect(codeOf(r)).toBe("STORE_INVALID_INPUT");
    expect(r.ok ? "" : r.error.message).toContain('"m"');
    expect(store.getConversation("c")?.lastSeq).toBe(1);
  });
});

describe("a failed append leaves the log exactly as before", () => {
  test("a chunk that cannot be serialized, after earlier chunks of the step were inserted", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 2);
    const before = snapshot(tmp.file);
    const poison = { type: "tool-call", toolCallId: "t", toolName: "x", input: { n: 10n } } as const;
    const r = store.appendStep("c", [
      msg("ok1", "assistant", text("fine"), text("also fine")),
      msg("ok2", "assistant", text("fine too"), poison),
    ]);
    expect(codeOf(r)).toBe("STORE_INVALID_INPUT");
    expect(r.ok ? "" : r.error.message).toContain("messages.1.chunks.1");
    expect(snapshot(tmp.file)).toEqual(before);
    // the next append continues the sequence: nothing was reserved
    expect(unwrap(store.appendStep("c", [msg("m3", "user", text("next"))]))).toEqual({
      firstSeq: 3,
      lastSeq: 3,
    });
  });

  test("a constraint failure raised by the database mid-transaction (trigger), also on a new conversation", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 2);
    injectChunkFailure(tmp.file, "BOOM");
    const before = snapshot(tmp.file);
    const step = [msg("a", "assistant", text("one"), text("two")), msg("b", "assistant", text("BOOM"))];
    const r = store.appendStep("c", step);
    expect(codeOf(r)).toBe("STORE_WRITE_FAILED");
    expect(r.ok ? "" : r.error.message).toContain("injected failure");
    expect(codeOf(store.appendStep("fresh", [msg("u", "user", text("hi")), ...step]))).toBe(
      "STORE_WRITE_FAILED",
    );
    expect(snapshot(tmp.file)).toEqual(before);
    expect(store.getConversation("fresh")).toBeUndefined();
  });
});

describe("readWindow", () => {
  test("sinceSeq / beforeSeq are exclusive, limit keeps the newest, results ascend (PROTOCOL §6)", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 10);
    const w = (q: Parameters<typeof store.readWindow>[1]) => unwrap(store.readWindow("c", q));
    expect(seqs(w({}).chunks)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(w({}).latestSeq).toBe(10);
    expect(seqs(w({ sinceSeq: 7 }).chunks)).toEqual([8, 9, 10]);
    expect(seqs(w({ beforeSeq: 4 }).chunks)).toEqual([1, 2, 3]);
    expect(seqs(w({ limit: 3 }).chunks)).toEqual([8, 9, 10]);
    expect(seqs(w({ sinceSeq: 2, beforeSeq: 9, limit: 4 }).chunks)).toEqual([5, 6, 7, 8]);
    expect(w({ sinceSeq: 2, beforeSeq: 9, limit: 4 }).latestSeq).toBe(8);
    expect(seqs(w({ sinceSeq: 2, limit: 0 }).chunks)).toEqual([]);
  });

  test("latestSeq is sinceSeq when nothing is newer, 0 without sinceSeq", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.ensureConversation({ id: "empty" }));
    expect(unwrap(store.readWindow("empty"))).toEqual({ chunks: [], latestSeq: 0, problems: [] });
    fill(store, "c", 3);
    expect(unwrap(store.readWindow("c", { sinceSeq: 3 }))).toEqual({
      chunks: [],
      latestSeq: 3,
      problems: [],
    });
    expect(unwrap(store.readWindow("c", { sinceSeq: 99 })).latestSeq).toBe(99);
  });

  test("unknown conversation and bad queries are coded values", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    expect(codeOf(store.readWindow("nope"))).toBe("STORE_UNKNOWN_CONVERSATION");
    expect(codeOf(store.loadHistory("nope"))).toBe("STORE_UNKNOWN_CONVERSATION");
    fill(store, "c", 1);
    expect(codeOf(store.readWindow("c", { limit: -1 }))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.readWindow("c", { sinceSeq: 1.5 }))).toBe("STORE_INVALID_INPUT");
  });

  test("the window query is a range search on the primary key, never a scan", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 50);
    fill(store, "d", 50);
    const db = new Database(tmp.file, { strict: true });
    db.run("ANALYZE"); // with statistics too, the planner must still pick the key range
    const pk = db
      .query<{ name: string; origin: string }, []>("PRAGMA index_list(chunks)")
      .all()
      .filter((i) => i.origin === "pk")
      .map((i) => i.name);
    const plan = (limit: number) =>
      db
        .query<{ detail: string }, [Record<string, string | number>]>(`EXPLAIN QUERY PLAN ${WINDOW_SQL}`)
        .all({ id: "c", since: 10, before: 40, limit })
        .map((r) => r.detail);
    const plans = [plan(5), plan(-1)];
    db.close();
    expect(pk).toHaveLength(1);
    for (const p of plans) {
      expect(p).toEqual([`SEARCH chunks USING INDEX ${pk[0]} (conversation_id=? AND seq>? AND seq<?)`]);
    }
  });

  test("a malformed row is reported with its seq and skipped; neighbours still load", () => {
    using tmp = tempDb();
    const logger = createMemoryLogger();
    using store = openTestStore(tmp.file, { logger });
    fill(store, "c", 2);
    const raw = new Database(tmp.file);
    raw.run(`INSERT INTO chunks (conversation_id, seq, message_id, role, chunk) VALUES
             ('c', 3, 'm1', 'user', '{not json'), ('c', 4, 'm1', 'user', '{"type":"hologram"}')`);
    raw.run("UPDATE conversations SET last_seq = 4 WHERE id = 'c'");
    raw.close();
    unwrap(store.appendStep("c", [msg("m5", "user", text("after"))]));

    const w = unwrap(store.readWindow("c"));
    expect(seqs(w.chunks)).toEqual([1, 2, 5]);
    expect(w.latestSeq).toBe(5);
    expect(w.problems.map((p) => p.seq)).toEqual([3, 4]);
    expect(w.problems[0]?.message).toContain("invalid chunk JSON");
    // a window of only malformed rows still advances latestSeq, so a poller does not refetch forever
    expect(unwrap(store.readWindow("c", { sinceSeq: 2, beforeSeq: 5 }))).toMatchObject({
      chunks: [],
      latestSeq: 4,
    });

    const h = unwrap(store.loadHistory("c"));
    expect(h.problems.map((p) => p.seq)).toEqual([3, 4]);
    expect(h.messages.map((m) => m.messageId)).toEqual(["m1", "m2", "m5"]);
    const warned = logger.records.filter((r) => r.level === "warn").map((r) => r.fields.seq);
    expect(warned).toEqual([3, 4, 3, 4, 3, 4]);
  });
});
