import { describe, expect, test } from "bun:test";
import { INTERRUPTED_TOOL_RESULT } from "./reconcile";
import { codeOf, fill, msg, openTestStore, seqs, tempDb, text, unwrap } from "./test-support";

describe("loadHistory", () => {
  test("reconciles an interrupted tool call; the raw log keeps error-only messages", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    const call = { type: "tool-call", toolCallId: "t1", toolName: "shell", input: { cmd: "ls" } } as const;
    unwrap(store.appendStep("c", [msg("u", "user", text("list files"))]));
    unwrap(store.appendStep("c", [{ ...msg("a", "assistant", text("sure"), call), turnId: "turn-1" }]));
    unwrap(store.appendStep("c", [msg("e", "assistant", { type: "error", message: "provider down" })]));
    const h = unwrap(store.loadHistory("c"));
    expect(h.messages.map((m) => [m.messageId, m.role])).toEqual([
      ["u", "user"],
      ["a", "assistant"],
      ["a#interrupted", "tool"],
    ]);
    expect(h.messages[1]?.turnId).toBe("turn-1");
    expect(h.messages[2]?.chunks[0]).toMatchObject({ toolCallId: "t1", content: INTERRUPTED_TOOL_RESULT });
    expect(seqs(unwrap(store.readWindow("c")).chunks)).toEqual([1, 2, 3, 4]);
  });

  test("fromSeq, or the persisted historyStartSeq, starts the model view at a compaction summary", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 4);
    const { firstSeq } = unwrap(store.appendStep("c", [msg("sum", "system", text("summary of 1-4"))]));
    unwrap(store.appendStep("c", [msg("m9", "user", text("after summary"))]));
    const ids = (fromSeq?: number) =>
      unwrap(store.loadHistory("c", fromSeq === undefined ? {} : { fromSeq })).messages.map(
        (m) => m.messageId,
      );
    expect(ids()).toEqual(["m1", "m2", "m3", "m4", "sum", "m9"]);
    expect(ids(firstSeq)).toEqual(["sum", "m9"]);
    unwrap(store.updateConversation("c", { historyStartSeq: firstSeq }));
    expect(ids()).toEqual(["sum", "m9"]);
    expect(codeOf(store.updateConversation("c", { historyStartSeq: 99 }))).toBe("STORE_INVALID_INPUT");
  });
});

describe("compaction support", () => {
  test("an archived snapshot gets a copy of a seq range in one transaction; the source keeps counting", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.appendStep("c", [msg("u1", "user", text("one")), msg("a1", "assistant", text("two"))]));
    unwrap(store.appendStep("c", [{ ...msg("a1", "assistant", text("three")), turnId: "t" }]));
    unwrap(store.appendStep("c", [msg("u2", "user", text("four"))]));
    const snap = unwrap(
      store.createConversation({ id: "c-archive", compactedFrom: "c", status: "closed", title: "old c" }),
    );
    expect(snap).toMatchObject({ status: "closed", compactedFrom: "c", lastSeq: 0 });
    expect(unwrap(store.copyMessages("c", "c-archive", { fromSeq: 2, uptoSeq: 3 }))).toEqual({
      chunks: 2,
      messages: 1,
      firstSeq: 1,
      lastSeq: 2,
    });
    expect(unwrap(store.copyMessages("c", "c-archive", { uptoSeq: 1 }))).toMatchObject({
      firstSeq: 3,
      lastSeq: 3,
    });
    const copied = unwrap(store.readWindow("c-archive")).chunks;
    expect(copied.map((c) => [c.seq, c.messageId, c.chunk])).toEqual([
      [1, "a1", text("two")],
      [2, "a1", text("three")],
      [3, "u1", text("one")],
    ]);
    expect(unwrap(store.loadHistory("c-archive")).messages.map((m) => m.messageId)).toEqual(["a1", "u1"]);
    // compaction in place: the source continues after its last seq
    expect(unwrap(store.appendStep("c", [msg("sum", "system", text("summary"))]))).toEqual({
      firstSeq: 5,
      lastSeq: 5,
    });
    expect(store.listConversations({}).ok && unwrap(store.listConversations({})).conversations.length).toBe(
      2,
    );
  });

  test("copy edge cases: unknown ids, same id, empty range, range past the end", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 3);
    unwrap(store.ensureConversation({ id: "d" }));
    expect(codeOf(store.copyMessages("x", "d", { uptoSeq: 1 }))).toBe("STORE_UNKNOWN_CONVERSATION");
    expect(codeOf(store.copyMessages("c", "x", { uptoSeq: 1 }))).toBe("STORE_UNKNOWN_CONVERSATION");
    expect(codeOf(store.copyMessages("c", "c", { uptoSeq: 1 }))).toBe("STORE_INVALID_INPUT");
    expect(unwrap(store.copyMessages("c", "d", { fromSeq: 3, uptoSeq: 2 })).chunks).toBe(0);
    expect(unwrap(store.copyMessages("c", "d", { uptoSeq: 100 })).lastSeq).toBe(3);
    expect(codeOf(store.createConversation({ id: "d" }))).toBe("STORE_CONVERSATION_EXISTS");
  });
});
