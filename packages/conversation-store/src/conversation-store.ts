/**
 * The ConversationStore on bun:sqlite: one connection (the one writer), statements prepared once,
 * every write in one IMMEDIATE transaction that either commits whole or leaves the file as it was.
 * Side tables (turns, permission requests, workspaces) live in side-tables.ts.
 */
import { type Database, SQLiteError } from "bun:sqlite";
import { type Logger, silentLogger } from "@dispatch/kernel";
import type { Chunk, ConversationStatus, StoredChunk } from "@dispatch/protocol/types";
import type {
  AppendMessage,
  AppendResult,
  ConversationInit,
  ConversationPatch,
  ConversationRecord,
  ConversationStore,
  ConversationWindow,
  CopyRange,
  CopyResult,
  CreateConversationInput,
  History,
  ListPage,
  ListQuery,
  Result,
  RowProblem,
  StoreError,
  WindowQuery,
} from "./contract";
import { DEFAULT_WORKSPACE_ID } from "./contract";
import { decodeCursor, encodeCursor } from "./cursor";
import { type LogRow, reconcile } from "./reconcile";
import { fail, ok, serialize, unknownConversation } from "./result";
import { type ChunkRow, type ConversationRow, decodeChunk, toMeta, toRecord } from "./rows";
import { type OpenOptions, openDatabase } from "./schema";
import { SideTables } from "./side-tables";
import { prepareStatements, type Statements } from "./statements";
import { titleFromStep } from "./title";
import {
  AppendStepSchema,
  ConversationInitSchema,
  ConversationPatchSchema,
  CopyRangeSchema,
  CreateConversationSchema,
  IdSchema,
  InitWithoutIdSchema,
  ListQuerySchema,
  parseInput,
  WindowQuerySchema,
} from "./validation";

export interface ConversationStoreOptions extends OpenOptions {
  /** A file path, or ":memory:". */
  path: string;
  /** Receives malformed-row reports; default silent. */
  logger?: Logger;
  /** Clock for createdAt / lastActivityAt; default Date.now. */
  now?: () => number;
}

const DEFAULT_LIST_LIMIT = 50;
/** Upper bound for a seq placeholder; SQLite integers are 64-bit, JS numbers safe up to 2^53. */
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

/** Thrown inside a transaction to roll it back and hand `error` to the caller as a value. */
class Rollback {
  constructor(readonly error: StoreError) {}
}

/** Opens (and migrates) the database; throws StoreOpenError when it cannot be used. */
export function openConversationStore(options: ConversationStoreOptions): SqliteConversationStore {
  return new SqliteConversationStore(openDatabase(options.path, options), options);
}

export class SqliteConversationStore implements ConversationStore {
  readonly #db: Database;
  readonly #s: Statements;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tx: { immediate: (fn: () => unknown) => unknown };
  readonly #side: SideTables;
  #closed = false;

  constructor(db: Database, options: Omit<ConversationStoreOptions, "path"> = {}) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#tx = db.transaction((fn: () => unknown) => fn());
    this.#side = new SideTables(this.#s, this.#now, (fn) => this.#write(fn));
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction. A failed Result rolls back and is returned; a SQLite
   * error (disk full, busy past the timeout, a constraint) rolls back and becomes STORE_WRITE_FAILED.
   */
  #write<T>(fn: () => Result<T>): Result<T> {
    try {
      return this.#tx.immediate(() => {
        const r = fn();
        if (!r.ok) throw new Rollback(r.error);
        return r;
      }) as Result<T>;
    } catch (err) {
      if (err instanceof Rollback) return { ok: false, error: err.error };
      if (err instanceof SQLiteError) return fail("STORE_WRITE_FAILED", `write rolled back: ${err.message}`);
      throw err;
    }
  }

  // ── conversations ──

  #row(id: string): ConversationRow | undefined {
    return this.#s.conversationById.get(id) ?? undefined;
  }

  #insert(input: CreateConversationInput, title: string | undefined): ConversationRow {
    const now = this.#now();
    const workspace = input.workspaceId ?? DEFAULT_WORKSPACE_ID;
    this.#s.touchWorkspace.run({ id: workspace, createdAt: now });
    const row = this.#s.insertConversation.get({
      id: input.id,
      title: input.title ?? title ?? "",
      status: input.status ?? "idle",
      workspace,
      model: input.model ?? null,
      cwd: input.cwd ?? null,
      effort: input.reasoningEffort ?? null,
      createdAt: input.createdAt ?? now,
      activity: input.createdAt ?? now,
      compactedFrom: input.compactedFrom ?? null,
    });
    if (!row) throw new Error(`INSERT … RETURNING gave no row for conversation "${input.id}"`);
    return row;
  }

  ensureConversation(init: ConversationInit): Result<ConversationRecord> {
    const p = parseInput(ConversationInitSchema, init, "ensureConversation");
    if (!p.ok) return p;
    return this.#write(() => ok(toRecord(this.#row(p.value.id) ?? this.#insert(p.value, undefined))));
  }

  createConversation(input: CreateConversationInput): Result<ConversationRecord> {
    const p = parseInput(CreateConversationSchema, input, "createConversation");
    if (!p.ok) return p;
    return this.#write(() =>
      this.#row(p.value.id)
        ? fail("STORE_CONVERSATION_EXISTS", `conversation "${p.value.id}" already exists`)
        : ok(toRecord(this.#insert(p.value, undefined))),
    );
  }

  getConversation(id: string): ConversationRecord | undefined {
    const row = this.#row(id);
    return row ? toRecord(row) : undefined;
  }

  updateConversation(id: string, patch: ConversationPatch): Result<ConversationRecord> {
    const p = parseInput(ConversationPatchSchema, patch, `updateConversation "${id}"`);
    if (!p.ok) return p;
    const v = p.value;
    return this.#write(() => {
      const current = this.#row(id);
      if (!current) return unknownConversation(id);
      if (v.historyStartSeq !== undefined && v.historyStartSeq > current.last_seq + 1) {
        return fail(
          "STORE_INVALID_INPUT",
          `updateConversation "${id}": historyStartSeq ${v.historyStartSeq} is past the log end (${current.last_seq})`,
        );
      }
      if (v.workspaceId !== undefined)
        this.#s.touchWorkspace.run({ id: v.workspaceId, createdAt: this.#now() });
      const row = this.#s.updateConversation.get({
        id,
        title: v.title ?? null,
        status: v.status ?? null,
        workspace: v.workspaceId ?? null,
        activity: v.lastActivityAt ?? null,
        historyStart: v.historyStartSeq ?? null,
        setModel: v.model !== undefined,
        model: v.model ?? null,
        setCwd: v.cwd !== undefined,
        cwd: v.cwd ?? null,
        setEffort: v.reasoningEffort !== undefined,
        effort: v.reasoningEffort ?? null,
      });
      return row ? ok(toRecord(row)) : unknownConversation(id);
    });
  }

  listConversations(query: ListQuery = {}): Result<ListPage> {
    const p = parseInput(ListQuerySchema, query, "listConversations");
    if (!p.ok) return p;
    const { status, workspaceId, q, cursor } = p.value;
    const limit = p.value.limit ?? DEFAULT_LIST_LIMIT;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after)
      return fail("STORE_INVALID_CURSOR", `cursor "${cursor}" is not valid`);
    const like = q ? escapeLike(q) : undefined;
    const rows = this.#s.listConversations.all({
      workspace: workspaceId ?? null,
      statuses: status && status.length > 0 ? JSON.stringify(status satisfies ConversationStatus[]) : null,
      idPrefix: like === undefined ? null : `${like}%`,
      titleLike: like === undefined ? null : `%${like}%`,
      afterT: after?.lastActivityAt ?? null,
      afterId: after?.id ?? null,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const result: ListPage = { conversations: page.map(toMeta) };
    if (rows.length > limit && last) {
      result.nextCursor = encodeCursor({ lastActivityAt: last.last_activity_at, id: last.id });
    }
    return ok(result);
  }

  // ── the log ──

  appendStep(
    conversationId: string,
    messages: AppendMessage[],
    init: Omit<ConversationInit, "id"> = {},
  ): Result<AppendResult> {
    const id = parseInput(IdSchema, conversationId, "appendStep conversationId");
    if (!id.ok) return id;
    const step = parseInput(AppendStepSchema, messages, `appendStep "${conversationId}" messages`);
    if (!step.ok) return step;
    const settings = parseInput(InitWithoutIdSchema, init, `appendStep "${conversationId}" init`);
    if (!settings.ok) return settings;
    const title = titleFromStep(step.value);
    return this.#write(() => {
      const conv =
        this.#row(conversationId) ?? this.#insert({ ...settings.value, id: conversationId }, title);
      const firstSeq = conv.last_seq + 1;
      let seq = conv.last_seq;
      for (const [i, m] of step.value.entries()) {
        const known = this.#s.messageRole.get({ id: conversationId, messageId: m.messageId });
        if (known && known.role !== m.role) {
          return fail(
            "STORE_INVALID_INPUT",
            `appendStep "${conversationId}" messages.${i}: message "${m.messageId}" is ${known.role}, not ${m.role}`,
          );
        }
        if (!known) {
          this.#s.insertMessage.run({
            id: conversationId,
            messageId: m.messageId,
            role: m.role,
            turnId: m.turnId ?? null,
            firstSeq: seq + 1,
          });
        }
        for (const [j, chunk] of m.chunks.entries()) {
          const json = serialize(chunk);
          if (json === undefined) {
            return fail(
              "STORE_INVALID_INPUT",
              `appendStep "${conversationId}" messages.${i}.chunks.${j}: chunk is not JSON-serializable`,
            );
          }
          seq += 1;
          this.#s.insertChunk.run({
            id: conversationId,
            seq,
            messageId: m.messageId,
            role: m.role,
            chunk: json,
          });
        }
      }
      this.#s.advanceConversation.run({
        id: conversationId,
        lastSeq: seq,
        activity: this.#now(),
        title: title ?? null,
      });
      return ok({ firstSeq, lastSeq: seq });
    });
  }

  readWindow(conversationId: string, query: WindowQuery = {}): Result<ConversationWindow> {
    const p = parseInput(WindowQuerySchema, query, `readWindow "${conversationId}"`);
    if (!p.ok) return p;
    if (!this.#s.conversationExists.get(conversationId)) return unknownConversation(conversationId);
    const since = p.value.sinceSeq ?? 0;
    const rows = this.#s.window.all({
      id: conversationId,
      since,
      before: p.value.beforeSeq ?? NO_UPPER_BOUND,
      limit: p.value.limit ?? -1,
    });
    rows.reverse();
    const problems: RowProblem[] = [];
    const chunks: StoredChunk[] = [];
    for (const row of rows) {
      const chunk = this.#decode(conversationId, row, problems);
      if (chunk) chunks.push({ seq: row.seq, role: row.role, chunk, messageId: row.message_id });
    }
    return ok({ chunks, latestSeq: rows.at(-1)?.seq ?? since, problems });
  }

  loadHistory(conversationId: string, opts: { fromSeq?: number } = {}): Result<History> {
    const conv = this.#row(conversationId);
    if (!conv) return unknownConversation(conversationId);
    const from = opts.fromSeq ?? conv.history_start_seq;
    const problems: RowProblem[] = [];
    const rows: LogRow[] = [];
    for (const row of this.#s.history.iterate({ id: conversationId, from })) {
      const chunk = this.#decode(conversationId, row, problems);
      if (!chunk) continue;
      const r: LogRow = { seq: row.seq, messageId: row.message_id, role: row.role, chunk };
      if (row.turn_id !== null) r.turnId = row.turn_id;
      rows.push(r);
    }
    return ok({ messages: reconcile(rows), problems });
  }

  #decode(conversationId: string, row: ChunkRow, problems: RowProblem[]): Chunk | undefined {
    const d = decodeChunk(row.chunk);
    if (d.ok) return d.chunk;
    problems.push({ seq: row.seq, message: d.message });
    this.#log.warn("skipping malformed chunk row", { conversationId, seq: row.seq, problem: d.message });
    return undefined;
  }

  copyMessages(fromId: string, toId: string, range: CopyRange): Result<CopyResult> {
    const p = parseInput(CopyRangeSchema, range, `copyMessages "${fromId}" → "${toId}"`);
    if (!p.ok) return p;
    if (fromId === toId)
      return fail("STORE_INVALID_INPUT", `copyMessages: source and target are both "${fromId}"`);
    return this.#write(() => {
      const src = this.#row(fromId);
      if (!src) return unknownConversation(fromId);
      const dst = this.#row(toId);
      if (!dst) return unknownConversation(toId);
      const from = p.value.fromSeq ?? 1;
      const upto = Math.min(p.value.uptoSeq, src.last_seq);
      if (upto < from) return ok({ chunks: 0, messages: 0, firstSeq: 0, lastSeq: 0 });
      const args = { src: fromId, to: toId, base: dst.last_seq, from, upto };
      const messages = this.#s.copyMessages.run(args).changes;
      const chunks = this.#s.copyChunks.run(args).changes;
      const lastSeq = dst.last_seq + chunks;
      this.#s.setLastSeq.run({ id: toId, lastSeq });
      return ok({ chunks, messages, firstSeq: dst.last_seq + 1, lastSeq });
    });
  }

  // ── turns, permission requests, workspaces ──

  beginTurn: SideTables["beginTurn"] = (t) => this.#side.beginTurn(t);
  endTurn: SideTables["endTurn"] = (id, end) => this.#side.endTurn(id, end);
  getTurn: SideTables["getTurn"] = (id) => this.#side.getTurn(id);
  listTurns: SideTables["listTurns"] = (id) => this.#side.listTurns(id);
  savePermissionRequest: SideTables["savePermissionRequest"] = (r) => this.#side.savePermissionRequest(r);
  resolvePermissionRequest: SideTables["resolvePermissionRequest"] = (id, d, at) =>
    this.#side.resolvePermissionRequest(id, d, at);
  listPendingPermissionRequests: SideTables["listPendingPermissionRequests"] = (id) =>
    this.#side.listPendingPermissionRequests(id);
  listWorkspaces: SideTables["listWorkspaces"] = () => this.#side.listWorkspaces();
  getWorkspace: SideTables["getWorkspace"] = (id) => this.#side.getWorkspace(id);
  createWorkspace: SideTables["createWorkspace"] = (w) => this.#side.createWorkspace(w);
  updateWorkspace: SideTables["updateWorkspace"] = (id, w) => this.#side.updateWorkspace(id, w);
  deleteWorkspace: SideTables["deleteWorkspace"] = (id) => this.#side.deleteWorkspace(id);

  // ── lifecycle ──

  recover() {
    const now = this.#now();
    const r = this.#write(() =>
      ok({
        conversationsReset: this.#s.resetConversations.run().changes,
        turnsInterrupted: this.#s.interruptTurns.run({ now }).changes,
        permissionRequestsExpired: this.#s.expirePermissions.run({ now }).changes,
      }),
    );
    if (!r.ok) throw new Error(`boot recovery failed: ${r.error.message}`);
    return r.value;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stmt of Object.values(this.#s)) stmt.finalize();
    this.#db.close(false);
  }
}

/** Pure: `text` with LIKE's wildcards and the escape character escaped (ESCAPE '\'). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
