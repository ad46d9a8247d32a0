import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import type { AppendMessage, QueueMessageInput } from "./contract";
import { MIGRATIONS, openDatabase, SCHEMA_VERSION, userVersion } from "./schema";
import {
  codeOf,
  injectChunkFailure,
  msg,
  openTestStore,
  snapshot,
  type TestStore,
  tempDb,
  text,
  unwrap,
} from "./test-support";

const queued = (
  conversationId: string,
  messageId: string,
  t = `text of ${messageId}`,
): QueueMessageInput => ({
  conversationId,
  messageId,
  text: t,
  createdAt: 1000,
});

/** A conversation "c" with one user message and messages a, b, c queued. */
function withQueue(store: TestStore): void {
  unwrap(store.appendStep("c", [msg("u1", "user", text("start"))]));
  for (const id of ["a", "b", "c"]) unwrap(store.enqueueMessage(queued("c", id)));
}

/** The queued messages as the turn loop delivers them: user messages keeping their ids. */
const delivered = (...ids: string[]): AppendMessage[] =>
  ids.map((id) => ({ messageId: id, role: "user", chunks: [text(`text of ${id}`)], turnId: "t1" }));

const ids = (store: TestStore, conversationId = "c") =>
  store.listQueuedMessages(conversationId).map((m) => m.messageId);

describe("the message queue", () => {
  test("keeps arrival order per conversation, survives a reopen, removes and clears", () => {
    using tmp = tempDb();
    {
      using store = openTestStore(tmp.file);
      withQueue(store);
      unwrap(store.appendStep("d", [msg("u1", "user", text("other"))]));
      const rec = unwrap(store.enqueueMessage({ ...queued("d", "x", "for d"), workspaceId: "ws1" }));
      expect(rec).toEqual({
        conversationId: "d",
        messageId: "x",
        text: "for d",
        workspaceId: "ws1",
        createdAt: 1000,
        position: 1,
      });
    }
    using store = openTestStore(tmp.file);
    expect(store.listQueuedMessages("c").map((m) => [m.messageId, m.position])).toEqual([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    expect(store.listQueuedMessages("c")[0]).not.toHaveProperty("workspaceId");
    expect(store.listAllQueuedMessages().map((m) => `${m.conversationId}/${m.messageId}`)).toEqual([
      "c/a",
      "c/b",
      "c/c",
      "d/x",
    ]);

    expect(unwrap(store.removeQueuedMessage("c", "b"))).toBe(true);
    expect(unwrap(store.removeQueuedMessage("c", "b"))).toBe(false);
    expect(unwrap(store.removeQueuedMessage("d", "a"))).toBe(false); // another conversation's id
    // A later message goes after the last one, even when earlier ones left.
    expect(unwrap(store.enqueueMessage(queued("c", "e"))).position).toBe(4);
    expect(ids(store)).toEqual(["a", "c", "e"]);

    expect(unwrap(store.clearQueuedMessages("c"))).toBe(3);
    expect(ids(store)).toEqual([]);
    expect(ids(store, "d")).toEqual(["x"]);
    expect(unwrap(store.enqueueMessage(queued("c", "f"))).position).toBe(1);
  });

  test("input is validated and failures are coded; nothing is written", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    withQueue(store);
    const before = snapshot(tmp.file);
    expect(codeOf(store.enqueueMessage(queued("nope", "z")))).toBe("STORE_UNKNOWN_CONVERSATION");
    expect(codeOf(store.enqueueMessage(queued("c", "a")))).toBe("STORE_MESSAGE_EXISTS");
    // An id already in the log would merge the delivered text into that message.
    expect(codeOf(store.enqueueMessage(queued("c", "u1")))).toBe("STORE_MESSAGE_EXISTS");
    const invalid = [
      { ...queued("c", "z"), text: "" },
      { ...queued("c", "z"), messageId: "" },
      { ...queued("c", "z"), createdAt: -1 },
      { ...queued("c", "z"), workspaceId: "Not A Slug" },
      { ...queued("c", "z"), conversationId: 7 },
    ];
    for (const input of invalid) {
      const r = store.enqueueMessage(input as QueueMessageInput);
      expect(codeOf(r)).toBe("STORE_INVALID_INPUT");
    }
    const bad = store.enqueueMessage({ ...queued("c", "z"), text: "" });
    expect(bad.ok ? "" : bad.error.message).toContain("text");
    expect(codeOf(store.removeQueuedMessage("c", ["a"] as unknown as string))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.clearQueuedMessages(null as unknown as string))).toBe("STORE_INVALID_INPUT");
    expect(store.listQueuedMessages(1 as unknown as string)).toEqual([]);
    expect(snapshot(tmp.file)).toEqual(before);
  });
});

describe("delivery: appendStep with dequeue", () => {
  test("the delivered messages leave the queue in the step's transaction, keeping their ids", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    withQueue(store);
    const r = unwrap(store.appendStep("c", delivered("a", "b"), {}, { dequeue: ["a", "b"] }));
    expect(r).toEqual({ firstSeq: 2, lastSeq: 3 });
    expect(ids(store)).toEqual(["c"]);
    const log = unwrap(store.readWindow("c")).chunks.map((c) => [c.messageId, c.chunk]);
    expect(log.slice(1)).toEqual([
      ["a", text("text of a")],
      ["b", text("text of b")],
    ]);
  });

  test("a message that is not queued fails the whole step: queue and log exactly as before", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    withQueue(store);
    unwrap(store.removeQueuedMessage("c", "b")); // cancelled meanwhile
    const before = snapshot(tmp.file);
    const r = store.appendStep("c", delivered("a", "b"), {}, { dequeue: ["a", "b"] });
    expect(codeOf(r)).toBe("STORE_UNKNOWN_QUEUED_MESSAGE");
    expect(r.ok ? "" : r.error.message).toContain('"b"');
    expect(snapshot(tmp.file)).toEqual(before);
    // Delivering twice is refused the same way: a message is never in the log twice.
    unwrap(store.appendStep("c", delivered("a"), {}, { dequeue: ["a"] }));
    const after = snapshot(tmp.file);
    expect(codeOf(store.appendStep("c", delivered("a"), {}, { dequeue: ["a"] }))).toBe(
      "STORE_UNKNOWN_QUEUED_MESSAGE",
    );
    expect(snapshot(tmp.file)).toEqual(after);
  });

  test("a failure in the middle of the delivery (after the dequeue) rolls both back", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    withQueue(store);
    injectChunkFailure(tmp.file, "BOOM");
    const before = snapshot(tmp.file);
    const step: AppendMessage[] = [
      ...delivered("a", "b"),
      { messageId: "asst", role: "assistant", chunks: [text("BOOM")], turnId: "t1" },
    ];
    const r = store.appendStep("c", step, {}, { dequeue: ["a", "b"] });
    expect(codeOf(r)).toBe("STORE_WRITE_FAILED");
    expect(snapshot(tmp.file)).toEqual(before);
    expect(ids(store)).toEqual(["a", "b", "c"]);
  });

  test("dequeue ids are validated: distinct, non-empty, strict options", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    withQueue(store);
    const before = snapshot(tmp.file);
    expect(codeOf(store.appendStep("c", delivered("a"), {}, { dequeue: ["a", "a"] }))).toBe(
      "STORE_INVALID_INPUT",
    );
    expect(codeOf(store.appendStep("c", delivered("a"), {}, { dequeue: [""] }))).toBe("STORE_INVALID_INPUT");
    const extra = { dequeue: ["a"], also: 1 } as unknown as { dequeue: string[] };
    expect(codeOf(store.appendStep("c", delivered("a"), {}, extra))).toBe("STORE_INVALID_INPUT");
    expect(snapshot(tmp.file)).toEqual(before);
  });
});

describe("migration v1 → v2", () => {
  test("a real v1 file gains the queue table and keeps its data", () => {
    using tmp = tempDb();
    // A file exactly as a v1 build left it, with a conversation in it.
    const v1 = openDatabase(tmp.file, { migrations: MIGRATIONS.slice(0, 1) });
    expect(userVersion(v1)).toBe(1);
    v1.run(
      `INSERT INTO conversations (id, title, status, workspace_id, created_at, last_activity_at, last_seq)
       VALUES ('old', 'from v1', 'idle', 'default', 5, 5, 1)`,
    );
    v1.run(
      "INSERT INTO messages (conversation_id, message_id, role, first_seq) VALUES ('old', 'm1', 'user', 1)",
    );
    v1.run(
      `INSERT INTO chunks (conversation_id, seq, message_id, role, chunk)
       VALUES ('old', 1, 'm1', 'user', '{"type":"text","text":"hello from v1"}')`,
    );
    const v1Tables = v1.query("SELECT name FROM sqlite_master WHERE name = 'queued_messages'").all();
    expect(v1Tables).toEqual([]);
    v1.close();

    {
      using store = openTestStore(tmp.file);
      expect(store.getConversation("old")).toMatchObject({ title: "from v1", lastSeq: 1 });
      expect(unwrap(store.readWindow("old")).chunks[0]?.chunk).toEqual(text("hello from v1"));
      unwrap(store.enqueueMessage(queued("old", "q1")));
      unwrap(store.appendStep("old", delivered("q1"), {}, { dequeue: ["q1"] }));
      expect(unwrap(store.loadHistory("old")).messages.map((m) => m.messageId)).toEqual(["m1", "q1"]);
    }
    const raw = new Database(tmp.file, { readonly: true });
    try {
      expect(userVersion(raw)).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(4);
      expect(raw.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    } finally {
      raw.close();
    }
  });
});
