/**
 * Opening the database: connection pragmas and versioned migrations (PRAGMA user_version).
 *
 * Pending migrations run in one IMMEDIATE transaction together with the version bump, so a failed
 * migration leaves the file exactly at its previous version. A file written by a newer build
 * (user_version above the last known migration) is refused with STORE_SCHEMA_TOO_NEW instead of
 * being read with the wrong assumptions.
 */
import { Database } from "bun:sqlite";
import { DEFAULT_WORKSPACE_ID, StoreOpenError } from "./contract";

export interface Migration {
  version: number;
  /** Runs inside the migration transaction; may hold several statements. */
  up: string;
}

/**
 * chunks is a rowid table whose primary key is a separate, small index: an append goes to the end of
 * the table b-tree (SQLite's quick-balance path), while a WITHOUT ROWID b-tree rebalances siblings on
 * every append (measured on 10-chunk steps: 3.7 instead of 4.7 page writes per step). A window read
 * is a range search on the (conversation_id, seq) primary-key index. messages is WITHOUT ROWID: its
 * ids are random (UUIDs), so one clustered b-tree beats a table plus an index.
 * Triggers make the log append-only and `last_seq` monotonic, so a seq is never reset or reused.
 * The conversation list has one index, on activity: every step moves the conversation in it, and each
 * further index on last_activity_at would cost another page write per step.
 */
const V1 = `
CREATE TABLE workspaces (
  id          TEXT PRIMARY KEY,
  title       TEXT NOT NULL,
  default_cwd TEXT,
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE conversations (
  id                TEXT PRIMARY KEY,
  title             TEXT NOT NULL DEFAULT '',
  status            TEXT NOT NULL CHECK (status IN ('active', 'queued', 'idle', 'closed')),
  workspace_id      TEXT NOT NULL REFERENCES workspaces (id),
  model             TEXT,
  cwd               TEXT,
  reasoning_effort  TEXT CHECK (reasoning_effort IN ('low', 'medium', 'high', 'xhigh', 'max')),
  created_at        INTEGER NOT NULL,
  last_activity_at  INTEGER NOT NULL,
  compacted_from    TEXT,
  last_seq          INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  history_start_seq INTEGER NOT NULL DEFAULT 1 CHECK (history_start_seq >= 1)
) STRICT;
CREATE INDEX conversations_by_activity ON conversations (last_activity_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (status) WHERE status IN ('active', 'queued');

CREATE TABLE messages (
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  message_id      TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  turn_id         TEXT,
  first_seq       INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, message_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE chunks (
  conversation_id TEXT NOT NULL,
  seq             INTEGER NOT NULL CHECK (seq >= 1),
  message_id      TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  chunk           TEXT NOT NULL,
  PRIMARY KEY (conversation_id, seq),
  FOREIGN KEY (conversation_id, message_id) REFERENCES messages (conversation_id, message_id)
) STRICT;

CREATE TRIGGER chunks_no_update BEFORE UPDATE ON chunks
BEGIN SELECT RAISE(ABORT, 'chunks are append-only'); END;
CREATE TRIGGER chunks_no_delete BEFORE DELETE ON chunks
BEGIN SELECT RAISE(ABORT, 'chunks are append-only'); END;
CREATE TRIGGER conversations_seq_monotonic BEFORE UPDATE OF last_seq ON conversations
WHEN NEW.last_seq < OLD.last_seq
BEGIN SELECT RAISE(ABORT, 'last_seq never decreases'); END;

CREATE TABLE turns (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  status          TEXT NOT NULL
                  CHECK (status IN ('running', 'completed', 'error', 'aborted', 'interrupted')),
  started_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  usage           TEXT,
  metrics         TEXT
) STRICT;
CREATE INDEX turns_by_conversation ON turns (conversation_id, started_at);
CREATE INDEX turns_running ON turns (status) WHERE status = 'running';

CREATE TABLE permission_requests (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  turn_id         TEXT NOT NULL,
  tool_call_id    TEXT NOT NULL,
  tool_name       TEXT NOT NULL,
  input           TEXT NOT NULL,
  reason          TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'allow', 'deny', 'always', 'expired')),
  created_at      INTEGER NOT NULL,
  resolved_at     INTEGER
) STRICT;
CREATE INDEX permission_requests_pending ON permission_requests (conversation_id, created_at)
  WHERE status = 'pending';
`;

/**
 * v2: the durable message queue. Messages a user sent while a turn was running wait here until they
 * are delivered (as steering or at the start of a turn), so a crash cannot drop an acknowledged one.
 * Delivery deletes the row in the same transaction that appends the message to the log. `position`
 * orders a conversation's queue (arrival order) and is served by the unique index.
 */
const V2 = `
CREATE TABLE queued_messages (
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  message_id      TEXT NOT NULL,
  text            TEXT NOT NULL CHECK (text <> ''),
  workspace_id    TEXT,
  created_at      INTEGER NOT NULL,
  position        INTEGER NOT NULL CHECK (position >= 1),
  PRIMARY KEY (conversation_id, message_id)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX queued_messages_order ON queued_messages (conversation_id, position);
`;

/**
 * v3: the running step's streamed content, durable before the step ends. The turn loop appends what
 * streamed since its last flush as one row per flush tick (bounded delay and size, never one
 * transaction per token), and a row per tool call about to run (`tool-start`, with the run id its
 * processes carry). The step's own append deletes the rows in its transaction; boot recovery promotes
 * rows a crash left into the log (marked interrupted), so chunks stay append-only and seqs gap-free.
 */
const V3 = `
CREATE TABLE inflight_parts (
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  part            INTEGER NOT NULL CHECK (part >= 1),
  turn_id         TEXT NOT NULL,
  step_id         TEXT NOT NULL,
  message_id      TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('text', 'thinking', 'tool-call', 'tool-start')),
  body            TEXT NOT NULL,
  PRIMARY KEY (conversation_id, part)
) STRICT, WITHOUT ROWID;
`;

/**
 * v4: share links (PROTOCOL.md §8). A share lets whoever holds its secret watch one conversation
 * read-only until `expires_at` or `revoked_at`. Only the secret's SHA-256 (hex) is stored; the secret
 * itself is shown once, at creation. Rows are kept after revocation (the list shows live ones).
 */
const V4 = `
CREATE TABLE shares (
  share_id        TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  secret_hash     TEXT NOT NULL CHECK (length(secret_hash) = 64),
  label           TEXT,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL CHECK (expires_at > created_at),
  revoked_at      INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX shares_by_conversation ON shares (conversation_id, created_at);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, up: V1 },
  { version: 2, up: V2 },
  { version: 3, up: V3 },
  { version: 4, up: V4 },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function userVersion(db: Database): number {
  const row = db.query<{ user_version: number }, []>("PRAGMA user_version").get();
  return row?.user_version ?? 0;
}

/**
 * Brings `db` to the last version of `migrations` (ordered, versions 1..n). Returns the versions it
 * applied. Throws StoreOpenError STORE_SCHEMA_TOO_NEW for a newer file; a failing migration throws
 * its error after rolling everything back.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const latest = migrations.length;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration #${i} has version ${m.version}, expected ${i + 1}`);
  });
  const apply = db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const current = userVersion(db);
    refuseNewer(current, latest);
    const pending = migrations.slice(current);
    for (const m of pending) db.run(m.up);
    if (pending.length > 0) db.run(`PRAGMA user_version = ${latest}`);
    return pending.map((m) => m.version);
  });
  return apply.immediate();
}

function refuseNewer(current: number, latest: number): void {
  if (current <= latest) return;
  throw new StoreOpenError(
    "STORE_SCHEMA_TOO_NEW",
    `database schema version ${current} is newer than this build supports (${latest}); ` +
      "upgrade Dispatch or point it at another data folder",
  );
}

export interface OpenOptions {
  /** Milliseconds a statement waits for another connection's lock; default 5000. */
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
  now?: () => number;
}

/**
 * Opens (creating when missing) and migrates the database at `path` (":memory:" works too), with WAL,
 * synchronous=NORMAL (durable against process crashes; a power loss may drop the last commits but
 * never corrupts), a busy timeout and foreign keys on. Ensures the `default` workspace exists.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  let db: Database;
  try {
    db = new Database(path, { create: true, strict: true });
  } catch (cause) {
    throw new StoreOpenError("STORE_OPEN_FAILED", `cannot open database "${path}": ${describe(cause)}`, {
      cause,
    });
  }
  try {
    db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
    // Refuse a newer file before anything (even the journal mode) is written to it.
    refuseNewer(userVersion(db), (opts.migrations ?? MIGRATIONS).length);
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA foreign_keys = ON");
    migrate(db, opts.migrations);
    db.query("INSERT OR IGNORE INTO workspaces (id, title, created_at) VALUES (?1, ?2, ?3)").run(
      DEFAULT_WORKSPACE_ID,
      "Default",
      (opts.now ?? Date.now)(),
    );
    return db;
  } catch (cause) {
    db.close();
    if (cause instanceof StoreOpenError) throw cause;
    throw new StoreOpenError("STORE_OPEN_FAILED", `cannot open database "${path}": ${describe(cause)}`, {
      cause,
    });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
