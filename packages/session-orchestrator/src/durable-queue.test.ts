/**
 * The durable queue through the orchestrator, on a real SQLite file: a message is in the store before
 * enqueue returns, leaves it only in the write that delivers it (steering or a new turn), and what a
 * crash left queued is restored at boot and goes with the conversation's next turn.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import path from "node:path";
import type { SqliteConversationStore } from "@dispatch/conversation-store";
import { messageQueueSpec } from "./message-queue-surface";
import { blockingTool, callTool, gated, type Harness, harness, ok, Recorder, say } from "./test-support";

const dbFile = (h: Harness) => path.join(h.dir, "store.db");

/** The log and the queue as stored, read through a separate connection. */
function tables(h: Harness) {
  const db = new Database(dbFile(h), { readonly: true });
  try {
    return {
      chunks: db.query("SELECT * FROM chunks ORDER BY conversation_id, seq").all(),
      messages: db.query("SELECT * FROM messages ORDER BY conversation_id, message_id").all(),
      queued: db.query("SELECT * FROM queued_messages ORDER BY conversation_id, position").all(),
    };
  } finally {
    db.close();
  }
}

/** Every text chunk of the conversation's user messages, in log order, with the message ids. */
function userTexts(store: SqliteConversationStore, conversationId: string) {
  return ok(store.readWindow(conversationId))
    .chunks.filter((c) => c.role === "user" && c.chunk.type === "text")
    .map((c) => ({ messageId: c.messageId, text: c.chunk.type === "text" ? c.chunk.text : "" }));
}

const storedIds = (h: Harness, conversationId: string) =>
  h.store.listQueuedMessages(conversationId).map((m) => m.messageId);

describe("the durable queue", () => {
  test("an acknowledged message is stored before enqueue returns; cancel and close remove it there", async () => {
    using h = harness();
    const g = gated("x");
    h.model.script(g.script);
    const { conversationId } = ok(h.orch.startTurn({ message: "go" }));
    const a = ok(h.orch.enqueue(conversationId, "one", { workspaceId: "ws2" }));
    expect(h.store.listQueuedMessages(conversationId)).toEqual([
      {
        conversationId,
        messageId: a.messageId,
        text: "one",
        workspaceId: "ws2",
        createdAt: expect.any(Number),
        position: 1,
      },
    ]);
    const b = ok(h.orch.enqueue(conversationId, "two"));
    expect(storedIds(h, conversationId)).toEqual([a.messageId, b.messageId]);

    // A workspace id the store cannot hold is refused up front, and nothing is queued.
    const bad = h.orch.enqueue(conversationId, "three", { workspaceId: "Not A Slug" });
    expect(bad).toMatchObject({ ok: false, error: { code: "ORCH_INVALID_REQUEST" } });
    expect(h.orch.queue(conversationId).length).toBe(2);

    expect(h.orch.cancelQueued(conversationId, a.messageId).cancelled).toBe(true);
    expect(storedIds(h, conversationId)).toEqual([b.messageId]);
    expect(h.orch.cancelQueued(conversationId, "never-queued").cancelled).toBe(false);

    ok(await h.orch.closeConversation(conversationId));
    expect(storedIds(h, conversationId)).toEqual([]);
    expect(h.orch.queue(conversationId)).toEqual([]);
  });

  test("steering and carry take the messages out of the store in the write that delivers them", async () => {
    using h = harness();
    const tool = blockingTool(h);
    const g = gated("final");
    h.model.script(callTool("c1", "slow", { value: "x" }), g.script, say("carried answer"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "start" }));

    await tool.running();
    const steer = ok(h.orch.enqueue(conversationId, "steer me"));
    tool.release();
    await rec.waitForType("steering");
    // Delivered with the step that carried it: in the log under its own id, gone from the queue.
    expect(storedIds(h, conversationId)).toEqual([]);
    expect(userTexts(h.store, conversationId)).toEqual([
      { messageId: expect.any(String), text: "start" },
      { messageId: steer.messageId, text: "steer me" },
    ]);

    await rec.waitFor((e) => e.type === "text-delta" && e.delta === "final", "the final answer");
    ok(h.orch.enqueue(conversationId, "then A"));
    ok(h.orch.enqueue(conversationId, "then B"));
    expect(storedIds(h, conversationId).length).toBe(2);
    g.release();
    await rec.sealed(turnId);
    const carried = await rec.waitFor(
      (e) => e.type === "user-message" && e.turnId !== turnId,
      "the turn that carries the queue",
    );
    if (carried.type !== "user-message") throw new Error("unreachable");
    expect(carried.text).toBe("then A\n\nthen B");
    expect(storedIds(h, conversationId)).toEqual([]);
    await rec.sealed(carried.turnId);
    expect(userTexts(h.store, conversationId).map((u) => u.text)).toEqual([
      "start",
      "steer me",
      "then A\n\nthen B",
    ]);
  });

  test("a delivery that fails half-way leaves queue and log exactly as before; the next turn takes them", async () => {
    using h = harness();
    const tool = blockingTool(h);
    h.model.script(callTool("c1", "slow", { value: "x" }), say("finally"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "start" }));
    await tool.running();
    const first = ok(h.orch.enqueue(conversationId, "BOOM first"));
    const second = ok(h.orch.enqueue(conversationId, "second"));
    const before = tables(h);

    // Any chunk holding the marker now fails inside its transaction, after the dequeue ran: the step
    // that delivers the messages as steering, then the turn that would carry them.
    const raw = new Database(dbFile(h));
    raw.run(`CREATE TRIGGER inject_failure BEFORE INSERT ON chunks WHEN instr(NEW.chunk, 'BOOM') > 0
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    tool.release();
    await rec.sealed(turnId);
    expect(rec.of("error").map((e) => e.code)).toEqual(["ORCH_STORE_FAILED"]);
    expect(rec.of("steering")).toEqual([]);
    expect(rec.of("turn-start").length).toBe(1); // the carry failed too
    expect(tables(h)).toEqual(before);
    expect(h.orch.queue(conversationId).map((m) => m.messageId)).toEqual([first.messageId, second.messageId]);
    expect(h.orch.status(conversationId)).toEqual({ conversationId, isActive: false, status: "idle" });

    raw.run("DROP TRIGGER inject_failure");
    raw.close();
    const next = ok(h.orch.startTurn({ conversationId, message: "third" }));
    await rec.sealed(next.turnId);
    expect(rec.of("user-message").at(-1)?.text).toBe("BOOM first\n\nsecond\n\nthird");
    expect(storedIds(h, conversationId)).toEqual([]);
    expect(h.orch.queue(conversationId)).toEqual([]);
    expect(userTexts(h.store, conversationId).map((u) => u.text)).toEqual([
      "start",
      "BOOM first\n\nsecond\n\nthird",
    ]);
  });

  test("after a crash the queue is restored, not started; it goes ahead of the next message", async () => {
    const conversationId = "crashed";
    let queued: string[] = [];
    using h = harness({
      // What a SIGKILL leaves: a running turn, status queued, two queued messages; then boot recovery.
      seed: (store) => {
        ok(
          store.appendStep(conversationId, [
            { messageId: "u1", role: "user", chunks: [{ type: "text", text: "hi" }] },
          ]),
        );
        ok(store.beginTurn({ turnId: "t1", conversationId, startedAt: 1 }));
        ok(store.updateConversation(conversationId, { status: "queued" }));
        queued = ["m1", "m2"].map(
          (id) =>
            ok(store.enqueueMessage({ conversationId, messageId: id, text: `queued ${id}`, createdAt: 2 }))
              .messageId,
        );
        ok(
          store.appendStep("gone", [
            { messageId: "u1", role: "user", chunks: [{ type: "text", text: "x" }] },
          ]),
        );
        ok(store.enqueueMessage({ conversationId: "gone", messageId: "g1", text: "never", createdAt: 2 }));
        ok(store.updateConversation("gone", { status: "closed" }));
        store.recover();
      },
    });
    expect(h.orch.queue(conversationId).map((m) => [m.messageId, m.text])).toEqual([
      ["m1", "queued m1"],
      ["m2", "queued m2"],
    ]);
    // Nothing ran unattended: no turn, no model request, the conversation idle.
    expect(h.orch.runningTurn(conversationId)).toBeUndefined();
    expect(h.model.requests).toEqual([]);
    expect(h.orch.status(conversationId)).toEqual({ conversationId, isActive: false, status: "idle" });
    // The user sees them (and can cancel them) in the message-queue surface.
    const spec = messageQueueSpec(h.orch.queue(conversationId), "composer");
    expect(spec.fields.filter((f) => f.kind === "button").length).toBe(2);
    expect(h.logger.records.find((r) => r.msg.startsWith("queued messages restored"))?.fields).toEqual({
      conversations: 1,
      messages: 2,
    });
    // A closed conversation's leftovers are dropped.
    expect(h.store.listQueuedMessages("gone")).toEqual([]);
    expect(h.orch.queue("gone")).toEqual([]);

    expect(h.orch.cancelQueued(conversationId, queued[0]!).cancelled).toBe(true);
    expect(storedIds(h, conversationId)).toEqual(["m2"]);

    h.model.script(say("got both"));
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const started = ok(h.orch.enqueue(conversationId, "next"));
    expect(started).toMatchObject({ startedTurn: true, queue: [] });
    await rec.sealed(started.turnId);
    expect(rec.of("user-message")[0]?.text).toBe("queued m2\n\nnext");
    expect(h.model.requests[0]?.messages.at(-1)?.chunks).toEqual([
      { type: "text", text: "queued m2\n\nnext" },
    ]);
    expect(storedIds(h, conversationId)).toEqual([]);
  });
});
