import { describe, expect, test } from "bun:test";
import { codeOf, msg, openTestStore, tempDb, text, unwrap } from "./test-support";

const hash = "a".repeat(64);
const share = (shareId: string, conversationId = "c") => ({
  shareId,
  conversationId,
  secretHash: hash,
  label: "for Ana",
  createdAt: 1000,
  expiresAt: 2000,
});

describe("shares table", () => {
  test("create, get, list, revoke (idempotent); rows survive a reopen", () => {
    using db = tempDb();
    {
      using store = openTestStore(db.file);
      unwrap(store.appendStep("c", [msg("u1", "user", text("hi"))]));
      expect(unwrap(store.createShare(share("s1")))).toEqual(share("s1"));
      const { label: _, ...unlabelled } = share("s2");
      expect(unwrap(store.createShare(unlabelled))).toEqual(unlabelled);
      expect(store.listShares("c").map((s) => s.shareId)).toEqual(["s1", "s2"]);
      expect(unwrap(store.revokeShare("s1", 1500)).revokedAt).toBe(1500);
      expect(unwrap(store.revokeShare("s1", 1700)).revokedAt).toBe(1500);
      expect(store.listUnexpiredShares(1999).map((s) => [s.shareId, s.revokedAt])).toEqual([
        ["s1", 1500],
        ["s2", undefined],
      ]);
      expect(store.listUnexpiredShares(2000)).toEqual([]);
    }
    using again = openTestStore(db.file);
    expect(again.getShare("s1")).toEqual({ ...share("s1"), revokedAt: 1500 });
    expect(again.getShare("s2")?.revokedAt).toBeUndefined();
    expect(again.getShare("nope")).toBeUndefined();
  });

  test("refusals name the problem", () => {
    using db = tempDb();
    using store = openTestStore(db.file);
    unwrap(store.appendStep("c", [msg("u1", "user", text("hi"))]));
    expect(codeOf(store.createShare(share("s1", "unknown")))).toBe("STORE_UNKNOWN_CONVERSATION");
    unwrap(store.createShare(share("s1")));
    expect(codeOf(store.createShare(share("s1")))).toBe("STORE_SHARE_EXISTS");
    expect(codeOf(store.createShare({ ...share("s3"), secretHash: "not-hex" }))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.createShare({ ...share("s3"), expiresAt: 1000 }))).toBe("STORE_INVALID_INPUT");
    expect(codeOf(store.revokeShare("nope", 1))).toBe("STORE_UNKNOWN_SHARE");
    expect(store.listShares(42 as unknown as string)).toEqual([]);
  });
});
