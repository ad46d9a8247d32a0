import { describe, expect, test } from "bun:test";
import {
  msg,
  openTestStore,
  tempDb,
  text,
  unwrap as unwrapStore,
} from "@dispatch/conversation-store/test-support";
import { SHARE_ENDED_CLOSE_CODE } from "./contract";
import { hashSecret, secretShareId } from "./secret";
import { createShares } from "./shares";

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function setup(now?: () => number) {
  const db = tempDb();
  const store = openTestStore(db.file);
  unwrapStore(store.appendStep("c", [msg("u1", "user", text("hi"))]));
  const shares = createShares({
    store,
    ...(now ? { now } : {}),
    budget: { max: 3, windowMs: 60_000, maxAddresses: 2 },
  });
  return {
    store,
    shares,
    [Symbol.dispose]() {
      shares.dispose();
      store.close();
      db[Symbol.dispose]();
    },
  };
}

const closer = () => {
  const closed: [number, string][] = [];
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    closed,
    done,
    viewer: {
      close(code: number, reason: string) {
        closed.push([code, reason]);
        resolve();
      },
    },
  };
};

describe("shares", () => {
  test("a secret is ≥ 128 random bits, stored only as its SHA-256, and verifies", () => {
    using s = setup();
    const created = unwrap(s.shares.create("c", { label: "Ana" }));
    expect(created.secret.length).toBeGreaterThanOrEqual(43);
    expect(secretShareId(created.secret)).toBe(created.shareId);
    const row = s.store.getShare(created.shareId);
    expect(row?.secretHash).toBe(hashSecret(created.secret));
    expect(JSON.stringify(row)).not.toContain(created.secret.split(".")[1] as string);
    expect(created.expiresAt - created.createdAt).toBe(24 * 3600 * 1000);
    expect(s.shares.verify(created.secret, "a")).toEqual({
      ok: true,
      shareId: created.shareId,
      conversationId: "c",
      expiresAt: created.expiresAt,
    });
    expect(s.shares.list("c")).toEqual([
      {
        shareId: created.shareId,
        label: "Ana",
        createdAt: created.createdAt,
        expiresAt: created.expiresAt,
        viewers: 0,
      },
    ]);
  });

  test("forged, truncated, expired and revoked secrets: each its own clear code", () => {
    let t = 1_000_000;
    using s = setup(() => t);
    const a = unwrap(s.shares.create("c", { expiresInSec: 10 }));
    const b = unwrap(s.shares.create("c", {}));
    const forged = `${a.shareId}.${"A".repeat(43)}`;
    expect(s.shares.verify(forged, "x")).toMatchObject({ ok: false, code: "SHARE_BAD_SECRET" });
    expect(s.shares.verify(a.secret.slice(0, -3), "y")).toMatchObject({
      ok: false,
      code: "SHARE_MALFORMED_SECRET",
      message: expect.stringContaining("cut short"),
    });
    expect(s.shares.verify("x".repeat(10_000), "y")).toMatchObject({ code: "SHARE_MALFORMED_SECRET" });
    unwrap(s.shares.revoke(b.shareId));
    expect(s.shares.verify(b.secret, "z")).toMatchObject({ ok: false, code: "SHARE_REVOKED" });
    t += 10_000;
    expect(s.shares.verify(a.secret, "z")).toMatchObject({ ok: false, code: "SHARE_EXPIRED" });
    expect(s.shares.list("c")).toEqual([]);
    expect(s.shares.revoke("nope")).toMatchObject({ ok: false, error: { code: "SHARE_UNKNOWN" } });
    expect(s.shares.create("c", { expiresInSec: 31 * 86400 })).toMatchObject({ ok: false });
    expect(s.shares.create("unknown", {})).toMatchObject({
      ok: false,
      error: { code: "STORE_UNKNOWN_CONVERSATION" },
    });
  });

  test("wrong secrets are rate-limited per address; the right one too while limited", () => {
    let t = 0;
    using s = setup(() => t);
    const a = unwrap(s.shares.create("c", {}));
    for (let i = 0; i < 3; i++) expect(s.shares.verify("garbage", "1.2.3.4").ok).toBe(false);
    expect(s.shares.verify(a.secret, "1.2.3.4")).toMatchObject({
      code: "SHARE_RATE_LIMITED",
      retryAfterSec: 60,
    });
    expect(s.shares.verify(a.secret, "5.6.7.8").ok).toBe(true);
    t += 60_000;
    expect(s.shares.verify(a.secret, "1.2.3.4").ok).toBe(true);
  });

  test("records and onChange tell relays of creations and revocations, never the secret", () => {
    using s = setup();
    const heard: [string, number | undefined][] = [];
    const off = s.shares.onChange((r) => heard.push([r.shareId, r.revokedAt]));
    const a = unwrap(s.shares.create("c", {}));
    unwrap(s.shares.revoke(a.shareId));
    off();
    unwrap(s.shares.create("c", {}));
    expect(heard.map(([id, at]) => [id, at === undefined])).toEqual([
      [a.shareId, true],
      [a.shareId, false],
    ]);
    const records = s.shares.records();
    expect(records).toHaveLength(2);
    expect(records.find((r) => r.shareId === a.shareId)?.secretHash).toBe(hashSecret(a.secret));
    expect(JSON.stringify(records)).not.toContain(a.secret);
  });

  test("revocation closes live viewers with 4403 at once; counts follow attach and detach", () => {
    using s = setup();
    const a = unwrap(s.shares.create("c", {}));
    const one = closer();
    const two = closer();
    const detach = s.shares.attach(a.shareId, one.viewer);
    s.shares.attach(a.shareId, two.viewer);
    expect(s.shares.list("c")[0]?.viewers).toBe(2);
    detach();
    expect(s.shares.viewers(a.shareId)).toBe(1);
    unwrap(s.shares.revoke(a.shareId));
    expect(one.closed).toEqual([]);
    expect(two.closed).toEqual([[SHARE_ENDED_CLOSE_CODE, "share revoked"]]);
    const late = closer();
    s.shares.attach(a.shareId, late.viewer);
    expect(late.closed).toEqual([[SHARE_ENDED_CLOSE_CODE, "share revoked"]]);
  });

  test("expiry closes live viewers with 4403 by a timer", async () => {
    using s = setup();
    const a = unwrap(s.shares.create("c", { expiresInSec: 1 }));
    const b = unwrap(s.shares.create("c", { expiresInSec: 3600 }));
    const short = closer();
    const long = closer();
    s.shares.attach(a.shareId, short.viewer);
    s.shares.attach(b.shareId, long.viewer);
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("no close at expiry within 5 s")), 5000),
    );
    await Promise.race([short.done, timeout]);
    expect(short.closed).toEqual([[SHARE_ENDED_CLOSE_CODE, "share expired"]]);
    expect(long.closed).toEqual([]);
  });
});
