import { describe, expect, test } from "bun:test";
import type { ConversationStore, Result } from "./contract";
import { fill, msg, openTestStore, snapshot, tempDb, text, unwrap } from "./test-support";

/** Inputs a typed caller cannot produce but an untyped one (a transport, a script) can. */
const bad = <T>(value: unknown) => value as T;

type Case = [what: string, call: (s: ConversationStore) => Result<unknown>, field: string];

const cases: Case[] = [
  ["ensureConversation id", (s) => s.ensureConversation({ id: "" }), "ensureConversation: id"],
  [
    "createConversation createdAt",
    (s) => s.createConversation({ id: "n", createdAt: -1 }),
    "createConversation: createdAt",
  ],
  ["updateConversation id", (s) => s.updateConversation(bad(7), { title: "x" }), "updateConversation id"],
  ["updateConversation patch", (s) => s.updateConversation("c", bad({ titel: "x" })), "patch: (root)"],
  [
    "updateConversation historyStartSeq",
    (s) => s.updateConversation("c", { historyStartSeq: 0 }),
    "patch: historyStartSeq",
  ],
  ["listConversations limit", (s) => s.listConversations({ limit: 1.5 }), "query: limit"],
  ["listConversations unknown key", (s) => s.listConversations(bad({ since: 1 })), "query: (root)"],
  ["listConversations status", (s) => s.listConversations(bad({ status: "idle" })), "query: status"],
  [
    "appendStep conversationId",
    (s) => s.appendStep(bad(["c"]), [msg("m", "user", text("x"))]),
    "conversationId",
  ],
  ["appendStep messages", (s) => s.appendStep("c", bad([{ messageId: "m" }])), "messages: 0.role"],
  ["appendStep init", (s) => s.appendStep("c", [msg("m", "user", text("x"))], bad(null)), "init: (root)"],
  ["readWindow conversationId", (s) => s.readWindow(bad(["c"])), "readWindow conversationId"],
  ["readWindow sinceSeq", (s) => s.readWindow("c", { sinceSeq: -1 }), "query: sinceSeq"],
  ["readWindow unknown key", (s) => s.readWindow("c", bad({ since: 1 })), "query: (root)"],
  ["loadHistory conversationId", (s) => s.loadHistory(bad({})), "loadHistory conversationId"],
  ["loadHistory fromSeq", (s) => s.loadHistory("c", { fromSeq: Number.NaN }), "opts: fromSeq"],
  ["loadHistory fromSeq type", (s) => s.loadHistory("c", bad({ fromSeq: "3" })), "opts: fromSeq"],
  ["copyMessages fromId", (s) => s.copyMessages(bad(1), "c", { uptoSeq: 1 }), "copyMessages fromId"],
  ["copyMessages toId", (s) => s.copyMessages("c", bad(null), { uptoSeq: 1 }), "copyMessages toId"],
  ["copyMessages range", (s) => s.copyMessages("c", "d", bad({ upto: 1 })), "range: uptoSeq"],
  ["appendCompaction conversationId", (s) => s.appendCompaction(bad(1), { messages: [] }), "conversationId"],
  [
    "appendCompaction archive",
    (s) =>
      s.appendCompaction("c", {
        archive: { conversation: { id: "" }, uptoSeq: 1 },
        messages: [msg("m", "system", text("s"))],
      }),
    "input: archive.conversation.id",
  ],
  [
    "beginTurn startedAt",
    (s) => s.beginTurn(bad({ turnId: "t", conversationId: "c" })),
    "beginTurn: startedAt",
  ],
  ["endTurn turnId", (s) => s.endTurn(bad(undefined), { status: "completed", endedAt: 1 }), "endTurn turnId"],
  ["endTurn endedAt", (s) => s.endTurn("t", { status: "completed", endedAt: 1.5 }), "end: endedAt"],
  [
    "endTurn usage",
    (s) => s.endTurn("t", bad({ status: "completed", endedAt: 1, usage: { inputTokens: "many" } })),
    "end: usage.inputTokens",
  ],
  [
    "savePermissionRequest toolName",
    (s) =>
      s.savePermissionRequest(
        bad({ requestId: "r", conversationId: "c", turnId: "t", toolCallId: "x", reason: "", createdAt: 1 }),
      ),
    "savePermissionRequest: toolName",
  ],
  [
    "resolvePermissionRequest requestId",
    (s) => s.resolvePermissionRequest(bad(["r"]), "allow"),
    "resolvePermissionRequest requestId",
  ],
  ["resolvePermissionRequest decision", (s) => s.resolvePermissionRequest("r", bad("yes")), "decision"],
  ["resolvePermissionRequest resolvedAt", (s) => s.resolvePermissionRequest("r", "allow", -5), "resolvedAt"],
  ["createWorkspace id", (s) => s.createWorkspace({ id: "No Slug" }), "createWorkspace: id"],
  ["updateWorkspace id", (s) => s.updateWorkspace(bad(3), { title: "x" }), "updateWorkspace id"],
  ["updateWorkspace patch", (s) => s.updateWorkspace("default", bad({ cwd: "/x" })), "patch: (root)"],
  ["deleteWorkspace id", (s) => s.deleteWorkspace("a b"), "deleteWorkspace id"],
];

describe("every boundary input is validated", () => {
  test.each(cases)("%s → STORE_INVALID_INPUT naming the field, nothing written", (_what, call, field) => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 2);
    unwrap(store.beginTurn({ turnId: "t", conversationId: "c", startedAt: 1 }));
    const before = snapshot(tmp.file);
    const r = call(store);
    expect(r.ok ? "ok" : r.error.code).toBe("STORE_INVALID_INPUT");
    expect(r.ok ? "" : r.error.message).toContain(field);
    expect(snapshot(tmp.file)).toEqual(before);
    expect(store.getTurn("t")?.status).toBe("running");
  });

  test("lookups with a non-string id find nothing instead of binding it (an array would match by position)", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 1);
    unwrap(store.beginTurn({ turnId: "t", conversationId: "c", startedAt: 1 }));
    for (const id of [["c"], ["t"], ["default"], undefined, {}, 1]) {
      expect(store.getConversation(bad(id))).toBeUndefined();
      expect(store.getTurn(bad(id))).toBeUndefined();
      expect(store.listTurns(bad(id))).toEqual([]);
      expect(store.listPendingPermissionRequests(bad(id))).toEqual([]);
      expect(store.getWorkspace(bad(id))).toBeUndefined();
    }
  });
});
