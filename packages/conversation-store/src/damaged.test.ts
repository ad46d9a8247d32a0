import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { createMemoryLogger } from "@dispatch/kernel";
import { codeOf, msg, openTestStore, seqs, tempDb, text, unwrap } from "./test-support";

/** Checkpoints the WAL into the main file, then overwrites the page holding `needle` with garbage. */
function damagePageHolding(file: string, needle: string): void {
  const raw = new Database(file);
  const pageSize = (raw.query("PRAGMA page_size").get() as { page_size: number }).page_size;
  raw.run("PRAGMA wal_checkpoint(TRUNCATE)");
  raw.close();
  const at = readFileSync(file).indexOf(needle);
  if (at < 0) throw new Error(`"${needle}" is not in the main database file`);
  const page = Math.floor(at / pageSize);
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0x41), 0, pageSize, page * pageSize);
  } finally {
    closeSync(fd);
  }
}

describe("a damaged file fails reads with a coded value, never a throw", () => {
  test("a garbage page in the middle of a conversation's log", () => {
    using tmp = tempDb();
    {
      using store = openTestStore(tmp.file);
      for (let i = 1; i <= 300; i++) {
        const body = `${i === 150 ? "NEEDLE " : ""}chunk ${i} `.repeat(40);
        unwrap(store.appendStep("c", [msg(`m${i}`, "user", text(body))]));
      }
    }
    damagePageHolding(tmp.file, "NEEDLE");
    const logger = createMemoryLogger();
    using store = openTestStore(tmp.file, { logger });

    const whole = store.readWindow("c");
    expect(codeOf(whole)).toBe("STORE_READ_FAILED");
    expect(whole.ok ? "" : whole.error.message).toContain('readWindow "c"');
    expect(codeOf(store.loadHistory("c"))).toBe("STORE_READ_FAILED");
    expect(logger.records.filter((r) => r.level === "error")).toHaveLength(2);
    // pages the damage did not reach still serve their windows, and the log can still grow
    expect(seqs(unwrap(store.readWindow("c", { limit: 3 })).chunks)).toEqual([298, 299, 300]);
    const tail = unwrap(store.loadHistory("c", { fromSeq: 299 })).messages;
    expect(tail.map((m) => m.messageId)).toEqual(["m299", "m300"]);
    expect(unwrap(store.appendStep("c", [msg("m301", "user", text("still writable"))])).lastSeq).toBe(301);
  });

  test("a garbage page under the conversation list", () => {
    using tmp = tempDb();
    {
      using store = openTestStore(tmp.file);
      unwrap(store.ensureConversation({ id: "c", title: "LISTNEEDLE" }));
      unwrap(store.appendStep("c", [msg("m", "user", text("hi"))]));
    }
    damagePageHolding(tmp.file, "LISTNEEDLE");
    using store = openTestStore(tmp.file);
    expect(codeOf(store.listConversations())).toBe("STORE_READ_FAILED");
    expect(codeOf(store.loadHistory("c"))).toBe("STORE_READ_FAILED");
  });
});

describe("rows that decode badly are skipped or reported, never fatal", () => {
  test("a chunk whose message row is missing still loads, with its own id and role", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.appendStep("c", [msg("m1", "user", text("one"))]));
    const raw = new Database(tmp.file);
    raw.run("PRAGMA foreign_keys = OFF");
    raw.run(`INSERT INTO chunks (conversation_id, seq, message_id, role, chunk)
             VALUES ('c', 2, 'ghost', 'assistant', '{"type":"text","text":"two"}')`);
    raw.run("UPDATE conversations SET last_seq = 2 WHERE id = 'c'");
    raw.close();
    const h = unwrap(store.loadHistory("c"));
    expect(h.messages.map((m) => [m.messageId, m.role, m.chunks])).toEqual([
      ["m1", "user", [text("one")]],
      ["ghost", "assistant", [text("two")]],
    ]);
  });

  test("a turn whose usage or metrics column holds something else loses just that field", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.ensureConversation({ id: "c" }));
    for (const t of ["t1", "t2", "t3"]) {
      unwrap(store.beginTurn({ turnId: t, conversationId: "c", startedAt: 1 }));
      unwrap(store.endTurn(t, { status: "completed", endedAt: 2, metrics: { steps: 1 } }));
    }
    const raw = new Database(tmp.file);
    raw.run(`UPDATE turns SET usage = '{not json', metrics = '[1,2]' WHERE id = 't1'`);
    raw.run(`UPDATE turns SET usage = '"lots"', metrics = 'null' WHERE id = 't2'`);
    raw.run(`UPDATE turns SET usage = '{"inputTokens":1,"outputTokens":2}' WHERE id = 't3'`);
    raw.close();
    expect(store.getTurn("t1")).toEqual({
      turnId: "t1",
      conversationId: "c",
      status: "completed",
      startedAt: 1,
      endedAt: 2,
    });
    expect(store.getTurn("t2")?.usage).toBeUndefined();
    expect(store.getTurn("t2")?.metrics).toBeUndefined();
    expect(store.getTurn("t3")).toMatchObject({
      usage: { inputTokens: 1, outputTokens: 2 },
      metrics: { steps: 1 },
    });
  });
});
