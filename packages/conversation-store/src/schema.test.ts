import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { StoreOpenError } from "./contract";
import { MIGRATIONS, migrate, openDatabase, SCHEMA_VERSION, userVersion } from "./schema";
import { tempDb } from "./test-support";

function openError(fn: () => unknown): StoreOpenError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StoreOpenError) return err;
    throw err;
  }
  throw new Error("expected a StoreOpenError");
}

describe("openDatabase", () => {
  test("a new file gets the whole schema, WAL, synchronous=NORMAL, a busy timeout and foreign keys", () => {
    using tmp = tempDb();
    const db = openDatabase(tmp.file, { busyTimeoutMs: 1234 });
    try {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      const pragma = (name: string) => Object.values(db.query(`PRAGMA ${name}`).get() as object)[0];
      expect(pragma("journal_mode")).toBe("wal");
      expect(pragma("synchronous")).toBe(1); // NORMAL
      expect(pragma("busy_timeout")).toBe(1234);
      expect(pragma("foreign_keys")).toBe(1);
      const tables = db
        .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((r) => r.name);
      expect(tables).toEqual([
        "chunks",
        "conversations",
        "inflight_parts",
        "messages",
        "permission_requests",
        "queued_messages",
        "shares",
        "turns",
        "workspaces",
      ]);
      expect(db.query("SELECT id FROM workspaces").all()).toEqual([{ id: "default" }]);
    } finally {
      db.close();
    }
  });

  test("reopening is a no-op: no migration runs twice and data stays", () => {
    using tmp = tempDb();
    openDatabase(tmp.file).close();
    const db = openDatabase(tmp.file);
    try {
      expect(migrate(db)).toEqual([]);
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(db.query("SELECT count(*) AS n FROM workspaces").get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  test("a database from a newer build is refused with STORE_SCHEMA_TOO_NEW and left untouched", () => {
    using tmp = tempDb();
    const raw = new Database(tmp.file);
    raw.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const err = openError(() => openDatabase(tmp.file));
    expect(err.code).toBe("STORE_SCHEMA_TOO_NEW");
    expect(err.message).toContain(String(SCHEMA_VERSION + 1));
    const check = new Database(tmp.file);
    expect(userVersion(check)).toBe(SCHEMA_VERSION + 1);
    expect(check.query("SELECT count(*) AS n FROM sqlite_master").get()).toEqual({ n: 0 });
    expect(check.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "delete" });
    check.close();
  });

  test("a file that is not a database fails with STORE_OPEN_FAILED", () => {
    using tmp = tempDb();
    writeFileSync(tmp.file, "this is not a sqlite database, just some text padded out ".repeat(40));
    expect(openError(() => openDatabase(tmp.file)).code).toBe("STORE_OPEN_FAILED");
  });
});

describe("migrate", () => {
  test("applies only the pending migrations, in order, and records the version", () => {
    const db = new Database(":memory:");
    const v1 = { version: 1, up: "CREATE TABLE a (x INTEGER)" };
    const v2 = { version: 2, up: "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (7)" };
    expect(migrate(db, [v1])).toEqual([1]);
    expect(migrate(db, [v1, v2])).toEqual([2]);
    expect(userVersion(db)).toBe(2);
    expect(db.query("SELECT y FROM b").all()).toEqual([{ y: 7 }]);
    db.close();
  });

  test("a failing migration rolls back every pending step and keeps the old version", () => {
    const db = new Database(":memory:");
    migrate(db, [{ version: 1, up: "CREATE TABLE a (x INTEGER)" }]);
    const broken = [
      { version: 1, up: "CREATE TABLE a (x INTEGER)" },
      { version: 2, up: "CREATE TABLE b (y INTEGER)" },
      { version: 3, up: "CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1)" },
    ];
    expect(() => migrate(db, broken)).toThrow(/nowhere/);
    expect(userVersion(db)).toBe(1);
    const names = db.query<{ name: string }, []>("SELECT name FROM sqlite_master ORDER BY name").all();
    expect(names.map((r) => r.name)).toEqual(["a"]);
    db.close();
  });

  test("the shipped migrations are numbered 1..n", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});
