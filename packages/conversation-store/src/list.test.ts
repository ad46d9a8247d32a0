import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import type { ConversationStatus } from "@dispatch/protocol/types";
import fc from "fast-check";
import type { ListQuery } from "./contract";
import { openConversationStore } from "./conversation-store";
import { LIST_SQL } from "./statements";
import { codeOf, openTestStore, type TestStore, tempDb, unwrap } from "./test-support";

function seed(
  store: TestStore,
  rows: [id: string, title: string, at: number, status?: ConversationStatus, ws?: string][],
) {
  for (const [id, title, at, status, ws] of rows) {
    unwrap(store.ensureConversation({ id, title, ...(ws ? { workspaceId: ws } : {}) }));
    unwrap(store.updateConversation(id, { lastActivityAt: at, ...(status ? { status } : {}) }));
  }
}

/** Every id of the listing, following nextCursor page by page. */
function allPages(store: TestStore, query: ListQuery): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = unwrap(store.listConversations(cursor === undefined ? query : { ...query, cursor }));
    ids.push(...page.conversations.map((c) => c.id));
    if (page.nextCursor === undefined) return ids;
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not terminate");
}

describe("listConversations", () => {
  test("newest activity first, ties by id descending, with ConversationMeta shape", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file, { now: () => 1 });
    seed(store, [
      ["a", "Alpha", 10],
      ["b", "Beta", 30],
      ["c", "Gamma", 20],
      ["d", "Delta", 20],
    ]);
    unwrap(store.updateConversation("b", { model: "local/echo" }));
    const page = unwrap(store.listConversations());
    expect(page.conversations.map((c) => c.id)).toEqual(["b", "d", "c", "a"]);
    expect(page.nextCursor).toBeUndefined();
    expect(page.conversations[0]).toEqual({
      id: "b",
      title: "Beta",
      status: "idle",
      workspaceId: "default",
      createdAt: 1,
      lastActivityAt: 30,
      model: "local/echo",
    });
  });

  test("filters: status list, workspace, q as id prefix or title substring (LIKE wildcards are literal)", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    seed(store, [
      ["conv-1", "Fix the parser", 1, "active", "web"],
      ["conv-2", "Write docs", 2, "closed", "web"],
      ["other", "parser bench", 3, "idle"],
      ["x_y", "100% done", 4, "queued"],
    ]);
    const ids = (q: ListQuery) => allPages(store, q);
    expect(ids({ status: ["active", "queued"] })).toEqual(["x_y", "conv-1"]);
    expect(ids({ workspaceId: "web" })).toEqual(["conv-2", "conv-1"]);
    expect(ids({ workspaceId: "web", status: ["closed"] })).toEqual(["conv-2"]);
    expect(ids({ q: "conv-" })).toEqual(["conv-2", "conv-1"]);
    expect(ids({ q: "PARSER" })).toEqual(["other", "conv-1"]);
    expect(ids({ q: "fix" })).toEqual(["conv-1"]);
    expect(ids({ q: "%" })).toEqual(["x_y"]);
    expect(ids({ q: "x_" })).toEqual(["x_y"]);
    expect(ids({ q: "_" })).toEqual([]); // neither an id prefix nor in a title
    expect(ids({ status: [] })).toHaveLength(4);
    expect(ids({ q: "" })).toHaveLength(4);
  });

  test("bad input is coded: an unknown cursor, a limit out of range, an unknown status", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    expect(codeOf(store.listConversations({ cursor: "garbage" }))).toBe("STORE_INVALID_CURSOR");
    expect(codeOf(store.listConversations({ limit: 0 }))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.listConversations({ limit: 501 }))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.listConversations({ status: ["sleeping" as "idle"] }))).toBe("STORE_INVALID_INPUT");
  });

  test("a cursor stays valid while rows are added and touched: no row is repeated", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    seed(store, [
      ["a", "", 50],
      ["b", "", 40],
      ["c", "", 30],
      ["d", "", 20],
    ]);
    const first = unwrap(store.listConversations({ limit: 2 }));
    expect(first.conversations.map((c) => c.id)).toEqual(["a", "b"]);
    seed(store, [
      ["new", "", 99],
      ["a", "", 100],
    ]);
    const second = unwrap(store.listConversations({ limit: 2, cursor: first.nextCursor }));
    expect(second.conversations.map((c) => c.id)).toEqual(["c", "d"]);
  });

  test("property: paging with any limit yields exactly the sorted, filtered set", () => {
    const statuses = ["active", "queued", "idle", "closed"] as const;
    const row = fc.record({
      at: fc.integer({ min: 0, max: 6 }),
      status: fc.constantFrom(...statuses),
      ws: fc.constantFrom("default", "w1"),
    });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 25 }),
        fc.integer({ min: 1, max: 7 }),
        fc.subarray([...statuses]),
        fc.option(fc.constantFrom("default", "w1"), { nil: undefined }),
        (rows, limit, status, workspaceId) => {
          using store = openTestStore(":memory:");
          const model = rows.map((r, i) => ({ ...r, id: `c${String(i).padStart(2, "0")}` }));
          seed(
            store,
            model.map((r) => [r.id, "", r.at, r.status, r.ws]),
          );
          const expected = model
            .filter((r) => status.length === 0 || status.includes(r.status))
            .filter((r) => workspaceId === undefined || r.ws === workspaceId)
            .sort((x, y) => y.at - x.at || (y.id < x.id ? -1 : 1))
            .map((r) => r.id);
          const query: ListQuery = { limit, status, ...(workspaceId ? { workspaceId } : {}) };
          expect(allPages(store, query)).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  test("the unfiltered list walks the activity index instead of sorting the table", () => {
    using tmp = tempDb();
    openConversationStore({ path: tmp.file }).close();
    const db = new Database(tmp.file, { strict: true });
    const plan = db
      .query<{ detail: string }, [Record<string, null | number>]>(`EXPLAIN QUERY PLAN ${LIST_SQL}`)
      .all({
        workspace: null,
        statuses: null,
        idPrefix: null,
        titleLike: null,
        afterT: null,
        afterId: null,
        limit: 5,
      })
      .map((r) => r.detail)
      .join("\n");
    db.close();
    expect(plan).not.toContain("TEMP B-TREE");
  });
});
