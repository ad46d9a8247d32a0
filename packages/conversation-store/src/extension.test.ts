import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { createHost, type Extension } from "@dispatch/kernel";
import {
  ConversationCatalog,
  ConversationLog,
  MessageQueueStore,
  PermissionRequests,
  TurnRecords,
  WorkspaceStore,
} from "./contract";
import { conversationStoreExtension } from "./extension";
import { SCHEMA_VERSION } from "./schema";
import { msg, openTestStore, tempDb, text, unwrap } from "./test-support";

/** Boots a host with only the store extension; returns the report and the host. */
async function boot(ext: Extension, config?: unknown) {
  const host = createHost({
    extensions: [ext],
    ...(config === undefined ? {} : { config: { "conversation-store": config } }),
  });
  const report = await host.start();
  return { host, report };
}

describe("conversationStoreExtension", () => {
  test("provides the store on the path from the factory and closes it on stop", async () => {
    using tmp = tempDb();
    const { host, report } = await boot(conversationStoreExtension({ path: tmp.file, now: () => 5 }));
    expect(report.active).toEqual(["conversation-store"]);
    const catalog = host.get(ConversationCatalog);
    unwrap(host.get(ConversationLog).appendStep("c", [msg("m", "user", text("persist me"))]));
    expect(catalog.getConversation("c")?.createdAt).toBe(5);
    await host.stop();
    expect(() => catalog.getConversation("c")).toThrow(); // closed
    using again = openTestStore(tmp.file);
    expect(again.getConversation("c")?.title).toBe("persist me");
  });

  test("every narrow handle is the same store: a write through one is read through the others", async () => {
    using tmp = tempDb();
    const { host } = await boot(conversationStoreExtension({ path: tmp.file }));
    unwrap(host.get(ConversationLog).appendStep("c", [msg("m", "user", text("hi"))]));
    unwrap(host.get(WorkspaceStore).createWorkspace({ id: "w" }));
    unwrap(host.get(ConversationCatalog).updateConversation("c", { workspaceId: "w" }));
    unwrap(
      host
        .get(MessageQueueStore)
        .enqueueMessage({ conversationId: "c", messageId: "q", text: "later", createdAt: 1 }),
    );
    unwrap(host.get(TurnRecords).beginTurn({ turnId: "t", conversationId: "c", startedAt: 1 }));
    expect(host.get(ConversationCatalog).getConversation("c")?.workspaceId).toBe("w");
    expect(
      host
        .get(MessageQueueStore)
        .listQueuedMessages("c")
        .map((q) => q.messageId),
    ).toEqual(["q"]);
    expect(host.get(TurnRecords).getTurn("t")?.status).toBe("running");
    expect(host.get(PermissionRequests).listPendingPermissionRequests("c")).toEqual([]);
    await host.stop();
  });

  test("the config section's path wins over the factory's", async () => {
    using a = tempDb();
    using b = tempDb();
    const { host } = await boot(conversationStoreExtension({ path: a.file }), { path: b.file });
    unwrap(host.get(ConversationCatalog).ensureConversation({ id: "here" }));
    await host.stop();
    using store = openTestStore(b.file);
    expect(store.getConversation("here")).toBeDefined();
  });

  test("without any path, with a bad config section, or on a newer database it is disabled with a code", async () => {
    using tmp = tempDb();
    const raw = new Database(tmp.file);
    raw.run(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    const cases: [Extension, unknown, string][] = [
      [conversationStoreExtension(), undefined, "STORE_NO_PATH"],
      [conversationStoreExtension({ path: tmp.file }), { path: 42 }, "STORE_INVALID_CONFIG"],
      [conversationStoreExtension({ path: tmp.file }), { pth: "typo" }, "STORE_INVALID_CONFIG"],
      [conversationStoreExtension({ path: tmp.file }), undefined, "STORE_SCHEMA_TOO_NEW"],
    ];
    for (const [ext, config, code] of cases) {
      const { host, report } = await boot(ext, config);
      expect(report.active).toEqual([]);
      expect(report.disabled[0]?.reason).toContain(code);
      expect(host.tryGet(ConversationCatalog)).toBeUndefined();
      expect(host.tryGet(ConversationLog)).toBeUndefined();
      await host.stop();
    }
  });
});
