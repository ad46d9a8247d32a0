/** Helpers for this package's tests: temp folders, stores on real files, and small step builders. */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Chunk, Role } from "@dispatch/protocol/types";
import type { AppendMessage, Result } from "./contract";
import {
  type ConversationStoreOptions,
  openConversationStore,
  type SqliteConversationStore,
} from "./conversation-store";

/** The window query, for tests and benchmarks that check its plan. */
export { WINDOW_SQL } from "./statements";
export interface TempDb extends Disposable {
  dir: string;
  file: string;
}

/** A fresh folder under the OS temp dir, removed on dispose. */
export function tempDb(): TempDb {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dispatch-store-"));
  return {
    dir,
    file: path.join(dir, "store.db"),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type TestStore = SqliteConversationStore & Disposable;

/** A store on a real file (WAL needs one), closed on dispose. */
export function openTestStore(file: string, options: Omit<ConversationStoreOptions, "path"> = {}): TestStore {
  const store = openConversationStore({ ...options, path: file }) as TestStore;
  store[Symbol.dispose] = () => store.close();
  return store;
}

/** A clock that advances by one millisecond per reading, so activity order is deterministic. */
export function steppingClock(start = 1_000_000): () => number {
  let t = start;
  return () => t++;
}

export function text(s: string): Chunk {
  return { type: "text", text: s };
}

export function msg(messageId: string, role: Role, ...chunks: Chunk[]): AppendMessage {
  return { messageId, role, chunks };
}

/** The value of an ok Result; fails the test (throws) with the error otherwise. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** The error code of a failed Result; throws when it succeeded. */
export function codeOf(r: Result<unknown>): string {
  if (r.ok) throw new Error(`expected an error, got ok: ${JSON.stringify(r.value)}`);
  return r.error.code;
}

/** `n` single-chunk user messages "m1".."mn" appended one step each to conversation `id`. */
export function fill(store: TestStore, id: string, n: number): void {
  for (let i = 1; i <= n; i++) unwrap(store.appendStep(id, [msg(`m${i}`, "user", text(`chunk ${i}`))]));
}

export const seqs = (chunks: { seq: number }[]) => chunks.map((c) => c.seq);

/** Every row of the log tables and the queue, read through a separate read-only connection. */
export function snapshot(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      chunks: db.query("SELECT * FROM chunks ORDER BY conversation_id, seq").all(),
      messages: db.query("SELECT * FROM messages ORDER BY conversation_id, message_id").all(),
      conversations: db.query("SELECT * FROM conversations ORDER BY id").all(),
      queued: db.query("SELECT * FROM queued_messages ORDER BY conversation_id, position").all(),
    };
  } finally {
    db.close();
  }
}

/** Makes every later insert of a chunk whose JSON contains `marker` fail inside its transaction. */
export function injectChunkFailure(file: string, marker: string): void {
  const raw = new Database(file);
  raw.run(`CREATE TRIGGER inject_failure BEFORE INSERT ON chunks WHEN instr(NEW.chunk, '${marker}') > 0
           BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  raw.close();
}
