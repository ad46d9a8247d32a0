import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import type { AppendMessage, CompactionInput } from "./contract";
import {
  codeOf,
  fill,
  injectChunkFailure,
  msg,
  openTestStore,
  seqs,
  snapshot,
  type TestStore,
  tempDb,
  text,
  unwrap,
} from "./test-support";

/** What the orchestrator appends: the summary marker, then copies of the kept messages (new ids). */
function compaction(store: TestStore, id: string, keepFrom: number, archiveId?: string): CompactionInput {
  const conv = store.getConversation(id);
  if (!conv) throw new Error(`no conversation ${id}`);
  const kept = unwrap(store.loadHistory(id, { fromSeq: keepFrom })).messages;
  const messages: AppendMessage[] = [
    msg(`summary-${conv.lastSeq}`, "system", { type: "system", text: `summary up to ${keepFrom - 1}` }),
    ...kept.map((m) => ({ messageId: `${m.messageId}'`, role: m.role, chunks: m.chunks })),
  ];
  if (archiveId === undefined) return { messages };
  return {
    archive: {
      conversation: { id: archiveId, title: "archived" },
      fromSeq: conv.historyStartSeq,
      uptoSeq: keepFrom - 1,
    },
    messages,
  };
}

const viewIds = (store: TestStore, id: string) =>
  unwrap(store.loadHistory(id)).messages.map((m) => m.messageId);

describe("appendCompaction", () => {
  test("archives the range, appends the summary and kept copies, and moves the model view at once", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 6);
    const r = unwrap(store.appendCompaction("c", compaction(store, "c", 5, "c-arch")));
    expect(r).toEqual({
      firstSeq: 7,
      lastSeq: 9,
      historyStartSeq: 7,
      archive: { chunks: 4, messages: 4, firstSeq: 1, lastSeq: 4 },
    });
    expect(store.getConversation("c")).toMatchObject({ lastSeq: 9, historyStartSeq: 7 });
    expect(viewIds(store, "c")).toEqual(["summary-6", "m5'", "m6'"]);
    // the raw log stays whole and gap-free: compaction resets nothing
    expect(seqs(unwrap(store.readWindow("c")).chunks)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(store.getConversation("c-arch")).toMatchObject({
      status: "closed",
      compactedFrom: "c",
      title: "archived",
      lastSeq: 4,
    });
    expect(unwrap(store.readWindow("c-arch")).chunks.map((c) => [c.seq, c.messageId])).toEqual([
      [1, "m1"],
      [2, "m2"],
      [3, "m3"],
      [4, "m4"],
    ]);
  });

  test("repeated compactions keep counting: seqs are never reset or reused", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 4);
    unwrap(store.appendCompaction("c", compaction(store, "c", 4, "a1")));
    unwrap(store.appendStep("c", [msg("m5", "user", text("after the first"))]));
    const second = unwrap(store.appendCompaction("c", compaction(store, "c", 7, "a2")));
    expect(second).toMatchObject({ firstSeq: 8, lastSeq: 9, historyStartSeq: 8 });
    expect(unwrap(store.appendStep("c", [msg("m6", "user", text("next"))]))).toEqual({
      firstSeq: 10,
      lastSeq: 10,
    });
    expect(seqs(unwrap(store.readWindow("c")).chunks)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(viewIds(store, "c")).toEqual(["summary-7", "m5'", "m6"]);
    // the second archive holds what the first compaction's view summarized: from its marker on
    expect(unwrap(store.readWindow("a2")).chunks.map((c) => [c.seq, c.messageId])).toEqual([
      [1, "summary-4"],
      [2, "m4'"],
    ]);
  });

  test("without an archive only the append and the view move happen", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 3);
    const r = unwrap(store.appendCompaction("c", compaction(store, "c", 3)));
    expect(r).toEqual({ firstSeq: 4, lastSeq: 5, historyStartSeq: 4 });
    expect(unwrap(store.listConversations()).conversations.map((c) => c.id)).toEqual(["c"]);
  });

  test("a failure injected mid-transaction leaves archive, log and view exactly as before", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 5);
    unwrap(store.appendStep("c", [msg("last", "user", text("BOOM when copied"))]));
    const input = compaction(store, "c", 5, "c-arch");
    // the archive copy and the summary are written before the failing kept copy
    injectChunkFailure(tmp.file, "BOOM");
    const before = snapshot(tmp.file);
    const r = store.appendCompaction("c", input);
    expect(codeOf(r)).toBe("STORE_WRITE_FAILED");
    expect(snapshot(tmp.file)).toEqual(before);
    expect(store.getConversation("c-arch")).toBeUndefined();
    expect(store.getConversation("c")).toMatchObject({ lastSeq: 6, historyStartSeq: 1 });

    // a chunk without a JSON form fails inside the transaction too
    const poison: CompactionInput = {
      ...input,
      messages: [
        ...input.messages.slice(0, 1),
        msg("p", "assistant", { type: "tool-call", toolCallId: "t", toolName: "x", input: 1n }),
      ],
    };
    const p = store.appendCompaction("c", poison);
    expect(codeOf(p)).toBe("STORE_INVALID_INPUT");
    expect(p.ok ? "" : p.error.message).toContain("messages.1.chunks.0");
    expect(snapshot(tmp.file)).toEqual(before);
  });

  test("coded refusals change nothing: unknown conversation, archive id taken or the source itself, bad input", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 3);
    unwrap(store.ensureConversation({ id: "taken" }));
    const input = compaction(store, "c", 3, "taken");
    const before = snapshot(tmp.file);
    expect(codeOf(store.appendCompaction("nope", { messages: input.messages }))).toBe(
      "STORE_UNKNOWN_CONVERSATION",
    );
    expect(store.getConversation("nope")).toBeUndefined();
    expect(codeOf(store.appendCompaction("c", input))).toBe("STORE_CONVERSATION_EXISTS");
    const self = { ...input, archive: { uptoSeq: 2, conversation: { id: "c" } } };
    const selfError = store.appendCompaction("c", self);
    expect(codeOf(selfError)).toBe("STORE_INVALID_INPUT");
    expect(selfError.ok ? "" : selfError.error.message).toContain("archive.conversation.id");
    const empty = store.appendCompaction("c", { messages: [] });
    expect(empty.ok ? "" : empty.error.message).toContain("input: messages");
    const badRange = store.appendCompaction("c", {
      ...input,
      archive: { conversation: { id: "x" }, uptoSeq: -1 },
    });
    expect(badRange.ok ? "" : badRange.error.message).toContain("archive.uptoSeq");
    expect(snapshot(tmp.file)).toEqual(before);
  });
});

describe("the schema itself keeps seqs from being reset or reused", () => {
  test("chunks cannot be updated or deleted, and last_seq cannot go back", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 3);
    const raw = new Database(tmp.file);
    try {
      expect(() => raw.run("DELETE FROM chunks WHERE conversation_id = 'c' AND seq = 3")).toThrow(
        /append-only/,
      );
      expect(() => raw.run("UPDATE chunks SET seq = 9 WHERE conversation_id = 'c' AND seq = 3")).toThrow(
        /append-only/,
      );
      expect(() => raw.run("UPDATE conversations SET last_seq = 1 WHERE id = 'c'")).toThrow(
        /never decreases/,
      );
      expect(() =>
        raw.run(
          "INSERT INTO chunks (conversation_id, seq, message_id, role, chunk) VALUES ('c', 2, 'm1', 'user', '{}')",
        ),
      ).toThrow(/UNIQUE/);
    } finally {
      raw.close();
    }
    expect(unwrap(store.appendStep("c", [msg("m4", "user", text("four"))]))).toEqual({
      firstSeq: 4,
      lastSeq: 4,
    });
  });
});
