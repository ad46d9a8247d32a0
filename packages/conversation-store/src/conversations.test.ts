import { describe, expect, test } from "bun:test";
import { codeOf, openTestStore, tempDb, unwrap } from "./test-support";

describe("conversations", () => {
  test("ensureConversation creates once and then returns the row unchanged", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    const a = unwrap(store.ensureConversation({ id: "c", model: "m1", title: "T" }));
    const b = unwrap(store.ensureConversation({ id: "c", model: "m2" }));
    expect(b).toEqual(a);
    expect(a).toMatchObject({ status: "idle", workspaceId: "default", model: "m1", title: "T" });
    expect(codeOf(store.ensureConversation({ id: "c2", workspaceId: "Not A Slug" }))).toBe(
      "STORE_INVALID_INPUT",
    );
  });

  test("updateConversation sets, keeps and clears settings", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.ensureConversation({ id: "c", model: "m1", cwd: "/a", reasoningEffort: "low" }));
    const u = unwrap(
      store.updateConversation("c", {
        title: "New",
        status: "active",
        cwd: null,
        workspaceId: "w2",
        lastActivityAt: 42,
      }),
    );
    expect(u).toMatchObject({
      title: "New",
      status: "active",
      model: "m1",
      reasoningEffort: "low",
      workspaceId: "w2",
    });
    expect(u.lastActivityAt).toBe(42);
    expect("cwd" in u).toBe(false);
    const v = unwrap(store.updateConversation("c", { model: null, reasoningEffort: "max" }));
    expect("model" in v).toBe(false);
    expect(v.reasoningEffort).toBe("max");
    expect(store.getConversation("c")).toEqual(v);
    expect(codeOf(store.updateConversation("nope", { title: "x" }))).toBe("STORE_UNKNOWN_CONVERSATION");
    expect(codeOf(store.updateConversation("c", { status: "sleeping" as "idle" }))).toBe(
      "STORE_INVALID_INPUT",
    );
    expect(codeOf(store.updateConversation("c", { bogus: 1 } as object))).toBe("STORE_INVALID_INPUT");
  });

  test("recover: active/queued → idle, running turns → interrupted, pending permissions → expired", () => {
    using tmp = tempDb();
    {
      using store = openTestStore(tmp.file);
      for (const [id, status] of [
        ["a", "active"],
        ["q", "queued"],
        ["i", "idle"],
        ["x", "closed"],
      ] as const) {
        unwrap(store.ensureConversation({ id }));
        unwrap(store.updateConversation(id, { status }));
      }
      unwrap(store.beginTurn({ turnId: "t1", conversationId: "a", startedAt: 1 }));
      unwrap(store.beginTurn({ turnId: "t2", conversationId: "i", startedAt: 1 }));
      unwrap(store.endTurn("t2", { status: "completed", endedAt: 2 }));
      unwrap(
        store.savePermissionRequest({
          requestId: "r1",
          conversationId: "a",
          turnId: "t1",
          toolCallId: "tc",
          toolName: "shell",
          input: { cmd: "rm -rf /" },
          reason: "shell",
          createdAt: 1,
        }),
      );
    } // the "crash": the process ends with everything in flight
    using store = openTestStore(tmp.file, { now: () => 99 });
    expect(store.recover()).toEqual({
      conversationsReset: 2,
      turnsInterrupted: 1,
      permissionRequestsExpired: 1,
      stepsPromoted: 0,
      interruptedToolRuns: [],
    });
    expect(["a", "q", "i", "x"].map((id) => store.getConversation(id)?.status)).toEqual([
      "idle",
      "idle",
      "idle",
      "closed",
    ]);
    expect(store.getTurn("t1")).toMatchObject({ status: "interrupted", endedAt: 99 });
    expect(store.getTurn("t2")?.status).toBe("completed");
    expect(store.listPendingPermissionRequests("a")).toEqual([]);
    expect(store.recover()).toEqual({
      conversationsReset: 0,
      turnsInterrupted: 0,
      permissionRequestsExpired: 0,
      stepsPromoted: 0,
      interruptedToolRuns: [],
    });
  });

  test("close is idempotent", () => {
    using tmp = tempDb();
    const store = openTestStore(tmp.file);
    store.close();
    store.close();
  });
});
