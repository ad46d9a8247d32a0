import { describe, expect, test } from "bun:test";
import type { SavePermissionRequest } from "./contract";
import { codeOf, msg, openTestStore, tempDb, text, unwrap } from "./test-support";

function request(requestId: string, over: Partial<SavePermissionRequest> = {}): SavePermissionRequest {
  return {
    requestId,
    conversationId: "c",
    turnId: "t1",
    toolCallId: `call-${requestId}`,
    toolName: "write_file",
    input: { path: "a.txt", content: "x" },
    reason: "writes a.txt",
    createdAt: 10,
    ...over,
  };
}

describe("turns", () => {
  test("begin and end with usage and metrics; listed oldest first", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.ensureConversation({ id: "c" }));
    expect(unwrap(store.beginTurn({ turnId: "t1", conversationId: "c", startedAt: 100 }))).toEqual({
      turnId: "t1",
      conversationId: "c",
      status: "running",
      startedAt: 100,
    });
    unwrap(store.beginTurn({ turnId: "t2", conversationId: "c", startedAt: 200 }));
    const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 2 };
    const ended = unwrap(
      store.endTurn("t1", {
        status: "completed",
        endedAt: 150,
        usage,
        metrics: { steps: 2, ttftMs: [12, 9] },
      }),
    );
    expect(ended).toEqual({
      turnId: "t1",
      conversationId: "c",
      status: "completed",
      startedAt: 100,
      endedAt: 150,
      usage,
      metrics: { steps: 2, ttftMs: [12, 9] },
    });
    expect(store.getTurn("t1")).toEqual(ended);
    expect(store.listTurns("c").map((t) => [t.turnId, t.status])).toEqual([
      ["t1", "completed"],
      ["t2", "running"],
    ]);
  });

  test("coded failures: unknown conversation, duplicate turn, unknown turn, bad end", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    expect(codeOf(store.beginTurn({ turnId: "t", conversationId: "nope", startedAt: 1 }))).toBe(
      "STORE_UNKNOWN_CONVERSATION",
    );
    unwrap(store.ensureConversation({ id: "c" }));
    unwrap(store.beginTurn({ turnId: "t", conversationId: "c", startedAt: 1 }));
    expect(codeOf(store.beginTurn({ turnId: "t", conversationId: "c", startedAt: 2 }))).toBe(
      "STORE_TURN_EXISTS",
    );
    expect(codeOf(store.endTurn("zz", { status: "error", endedAt: 2 }))).toBe("STORE_UNKNOWN_TURN");
    expect(codeOf(store.endTurn("t", { status: "running" as "error", endedAt: 2 }))).toBe(
      "STORE_INVALID_INPUT",
    );
    expect(codeOf(store.endTurn("t", { status: "error", endedAt: 2, metrics: { n: 1n } }))).toBe(
      "STORE_INVALID_INPUT",
    );
    expect(store.getTurn("t")?.status).toBe("running");
    expect(store.getTurn("zz")).toBeUndefined();
  });
});

describe("permission requests", () => {
  test("saved pending, listed per conversation in order, resolved once", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.ensureConversation({ id: "c" }));
    unwrap(store.ensureConversation({ id: "d" }));
    unwrap(store.savePermissionRequest(request("r1")));
    unwrap(store.savePermissionRequest(request("r2", { createdAt: 11 })));
    unwrap(store.savePermissionRequest(request("r3", { conversationId: "d" })));
    const pending = store.listPendingPermissionRequests("c");
    expect(pending.map((p) => [p.requestId, p.status])).toEqual([
      ["r1", "pending"],
      ["r2", "pending"],
    ]);
    expect(pending[0]?.input).toEqual({ path: "a.txt", content: "x" });

    expect(unwrap(store.resolvePermissionRequest("r1", "always", 20))).toMatchObject({
      status: "always",
      resolvedAt: 20,
    });
    expect(store.listPendingPermissionRequests("c").map((p) => p.requestId)).toEqual(["r2"]);
    const again = store.resolvePermissionRequest("r1", "deny");
    expect(codeOf(again)).toBe("STORE_UNKNOWN_PERMISSION_REQUEST");
    expect(again.ok ? "" : again.error.message).toContain("always");
    expect(codeOf(store.resolvePermissionRequest("nope", "allow"))).toBe("STORE_UNKNOWN_PERMISSION_REQUEST");
    expect(codeOf(store.resolvePermissionRequest("r2", "maybe" as "allow"))).toBe("STORE_INVALID_INPUT");
  });

  test("refuses unknown conversations, duplicate ids and inputs without a JSON form", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    expect(codeOf(store.savePermissionRequest(request("r1")))).toBe("STORE_UNKNOWN_CONVERSATION");
    unwrap(store.ensureConversation({ id: "c" }));
    unwrap(store.savePermissionRequest(request("r1")));
    expect(codeOf(store.savePermissionRequest(request("r1")))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.savePermissionRequest(request("r2", { input: { big: 1n } })))).toBe(
      "STORE_INVALID_INPUT",
    );
  });
});

describe("workspaces", () => {
  test("default always exists and cannot be deleted", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    expect(store.listWorkspaces().map((w) => w.id)).toEqual(["default"]);
    expect(codeOf(store.deleteWorkspace("default"))).toBe("STORE_DEFAULT_WORKSPACE");
    expect(store.getWorkspace("default")?.title).toBe("Default");
  });

  test("create, update, list (default first), delete", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file, { now: () => 7 });
    expect(
      unwrap(store.createWorkspace({ id: "web-app", title: "Web app", defaultCwd: "/src/web" })),
    ).toEqual({
      id: "web-app",
      title: "Web app",
      defaultCwd: "/src/web",
      createdAt: 7,
    });
    unwrap(store.createWorkspace({ id: "api" }));
    expect(store.listWorkspaces().map((w) => w.id)).toEqual(["default", "api", "web-app"]);
    expect(store.getWorkspace("api")?.title).toBe("api");
    expect(unwrap(store.updateWorkspace("web-app", { defaultCwd: null }))).toEqual({
      id: "web-app",
      title: "Web app",
      createdAt: 7,
    });
    expect(unwrap(store.updateWorkspace("web-app", { title: "Web" })).title).toBe("Web");
    unwrap(store.deleteWorkspace("api"));
    expect(store.getWorkspace("api")).toBeUndefined();
  });

  test("slug ids are validated; duplicates, unknown ids and non-empty workspaces are coded", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    for (const id of ["", "Upper", "has space", "-lead", "a/b", "x".repeat(65)]) {
      expect(codeOf(store.createWorkspace({ id }))).toBe("STORE_INVALID_INPUT");
    }
    unwrap(store.createWorkspace({ id: "w_1" }));
    expect(codeOf(store.createWorkspace({ id: "w_1" }))).toBe("STORE_WORKSPACE_EXISTS");
    expect(codeOf(store.updateWorkspace("nope", { title: "x" }))).toBe("STORE_UNKNOWN_WORKSPACE");
    expect(codeOf(store.deleteWorkspace("nope"))).toBe("STORE_UNKNOWN_WORKSPACE");
    unwrap(store.appendStep("c", [msg("m", "user", text("hi"))], { workspaceId: "w_1" }));
    expect(codeOf(store.deleteWorkspace("w_1"))).toBe("STORE_WORKSPACE_NOT_EMPTY");
    unwrap(store.updateConversation("c", { workspaceId: "default" }));
    unwrap(store.deleteWorkspace("w_1"));
  });
});
