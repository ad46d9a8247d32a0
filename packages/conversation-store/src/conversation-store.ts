/**
 * The ConversationStore on bun:sqlite: one connection (the one writer), statements prepared once,
 * every write in one IMMEDIATE transaction that either commits whole or leaves the file as it was.
 * Side tables (turns, permission requests, workspaces) live in side-tables.ts.
 */
import { type Database, SQLiteError } from "bun:sqlite";
import { type Logger, silentLogger } from "@dispatch/kernel";
import type { Chunk, StoredChunk } from "@dispatch/protocol/types";
import type {
  AppendMessage,
  AppendOptions,
  AppendResult,
  CompactionInput,
  CompactionResult,
  ConversationInit,
  ConversationPatch,
  ConversationRecord,
  ConversationStore,
  ConversationWindow,
  CopyRange,
  CopyResult,
  CreateConversationInput,
  History,
  InflightPart,
  InflightStep,
  InterruptedToolRun,
  ListPage,
  ListQuery,
  RecoveryReport,
  Result,
  RowProblem,
  StoreError,
  WindowQuery,
} from "./contract";
import { DEFAULT_WORKSPACE_ID } from "./contract";
import { decodeCursor } from "./cursor";
import { encodePart, type InflightRow, promoteInflight } from "./inflight";
import { listPage } from "./list";
import { appendMessages, copyRange } from "./log-writes";
import { dequeueMessages, QueueTable } from "./queue-table";
import { type LogRow, reconcile } from "./reconcile";
import { fail, ok, unknownConversation } from "./result";
import { type ChunkRow, type ConversationRow, decodeChunk, toRecord } from "./rows";
import { type OpenOptions, openDatabase } from "./schema";
import { ShareTable } from "./share-table";
import { SideTables } from "./side-tables";
import { prepareStatements, type Statements } from "./statements";
import { titleFromStep } from "./title";
import {
  AppendOptionsSchema,
  AppendStepSchema,
  CompactionSchema,
  ConversationInitSchema,
  ConversationPatchSchema,
  CopyRangeSchema,
  CreateConversationSchema,
  HistoryOptionsSchema,
  IdSchema,
  InflightPartsSchema,
  InflightStepSchema,
  InitWithoutIdSchema,
  KeySchema,
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
  /** Called after each `appendStep` with its duration in ms (validation and transaction), for metrics. */
  onAppend?: (ms: number) => void;
}

const DEFAULT_LIST_LIMIT = 50;
/** Stored bytes one window read returns at most unless the query says otherwise. */
const DEFAULT_WINDOW_BYTES = 8 * 1024 * 1024;
/** Upper bound for a seq placeholder; SQLite integers are 64-bit, JS numbers safe up to 2^53. */
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

/**
 * Takes rows from `source` until their chunk text passes `maxBytes` (the row that would pass it is
 * left out, except the first: one chunk is always returned); `more` says whether any row was left.
 */
function takeWithinBytes(source: Iterable<ChunkRow>, maxBytes: number): { rows: ChunkRow[]; more: boolean } {
  const rows: ChunkRow[] = [];
  let bytes = 0;
  for (const row of source) {
    // UTF-16 length: a cheap bound for the JSON text (exact for ASCII, within 3x otherwise).
    bytes += row.chunk.length;
    if (bytes > maxBytes && rows.length > 0) return { rows, more: true };
    rows.push(row);
  }
  return { rows, more: false };
}

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
  readonly #queue: QueueTable;
  readonly #shares: ShareTable;
  readonly #onAppend: ((ms: number) => void) | undefined;
  #closed = false;

  constructor(db: Database, options: Omit<ConversationStoreOptions, "path"> = {}) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#tx = db.transaction((fn: () => unknown) => fn());
    this.#onAppend = options.onAppend;
    this.#side = new SideTables(this.#s, this.#now, (fn) => this.#write(fn));
    this.#queue = new QueueTable(this.#s, (fn) => this.#write(fn));
    this.#shares = new ShareTable(db, (fn) => this.#write(fn));
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

  /** Non-strings (possible from untyped callers) are never ids; bun:sqlite would bind them oddly. */
  #row(id: string): ConversationRow | undefined {
    if (typeof id !== "string") return undefined;
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
    const key = parseInput(KeySchema, id, "updateConversation id");
    if (!key.ok) return key;
    const p = parseInput(ConversationPatchSchema, patch, `updateConversation "${id}" patch`);
    if (!p.ok) return p;
    const v = p.value;
    return this.#write(() => {
      const current = this.#row(id);
      if (!current) return unknownConversation(id);
      if (v.historyStartSeq !== undefined && v.historyStartSeq > current.last_seq + 1) {
        return fail(
          "STORE_INVALID_INPUT",
          `updateConversation "${id}" patch.historyStartSeq: ${v.historyStartSeq} is past the log end (${current.last_seq})`,
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
    const p = parseInput(ListQuerySchema, query, "listConversations query");
    if (!p.ok) return p;
    const { cursor } = p.value;
    const limit = p.value.limit ?? DEFAULT_LIST_LIMIT;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      return fail(
        "STORE_INVALID_CURSOR",
        `listConversations query.cursor: "${cursor}" is not a nextCursor of a previous page`,
      );
    }
    return this.#read("listConversations", () => ok(listPage(this.#s, p.value, limit, after)));
  }

  // ── the log ──

  appendStep(
    conversationId: string,
    messages: AppendMessage[],
    init: Omit<ConversationInit, "id"> = {},
    opts: AppendOptions = {},
  ): Result<AppendResult> {
    const started = performance.now();
    const r = this.#appendStep(conversationId, messages, init, opts);
    this.#onAppend?.(performance.now() - started);
    return r;
  }

  #appendStep(
    conversationId: string,
    messages: AppendMessage[],
    init: Omit<ConversationInit, "id"> = {},
    opts: AppendOptions = {},
  ): Result<AppendResult> {
    const id = parseInput(IdSchema, conversationId, "appendStep conversationId");
    if (!id.ok) return id;
    const step = parseInput(AppendStepSchema, messages, `appendStep "${conversationId}" messages`);
    if (!step.ok) return step;
    const settings = parseInput(InitWithoutIdSchema, init, `appendStep "${conversationId}" init`);
    if (!settings.ok) return settings;
    const options = parseInput(AppendOptionsSchema, opts, `appendStep "${conversationId}" opts`);
    if (!options.ok) return options;
    return this.#write(() => {
      const title = titleFromStep(step.value);
      const conv =
        this.#row(conversationId) ?? this.#insert({ ...settings.value, id: conversationId }, title);
      const dequeued = dequeueMessages(this.#s, conversationId, options.value.dequeue ?? [], "appendStep");
      if (!dequeued.ok) return dequeued;
      if (options.value.settleInflight) this.#s.clearInflight.run(conversationId);
      return appendMessages(this.#s, conv, step.value, {
        title,
        at: this.#now(),
        what: "appendStep",
        ...(options.value.view ? { view: true } : {}),
      });
    });
  }

  writeTogether(fn: () => void): boolean {
    try {
      this.#tx.immediate(fn);
      return true;
    } catch (err) {
      if (!(err instanceof SQLiteError)) throw err;
      this.#log.error("writes made together rolled back", { code: err.code, problem: err.message });
      return false;
    }
  }

  appendInflight(conversationId: string, step: InflightStep, parts: InflightPart[]): Result<void> {
    const id = parseInput(IdSchema, conversationId, "appendInflight conversationId");
    if (!id.ok) return id;
    const s = parseInput(InflightStepSchema, step, `appendInflight "${conversationId}" step`);
    if (!s.ok) return s;
    const p = parseInput(InflightPartsSchema, parts, `appendInflight "${conversationId}" parts`);
    if (!p.ok) return p;
    if (p.value.length === 0) return ok(undefined);
    return this.#write(() => {
      if (!this.#s.conversationExists.get(conversationId)) return unknownConversation(conversationId);
      for (const part of p.value as InflightPart[]) {
        this.#s.insertInflight.run({ id: conversationId, ...s.value, ...encodePart(part) });
      }
      return ok(undefined);
    });
  }

  readWindow(conversationId: string, query: WindowQuery = {}): Result<ConversationWindow> {
    const id = parseInput(KeySchema, conversationId, "readWindow conversationId");
    if (!id.ok) return id;
    const p = parseInput(WindowQuerySchema, query, `readWindow "${conversationId}" query`);
    if (!p.ok) return p;
    return this.#read(`readWindow "${conversationId}"`, () => {
      if (!this.#s.conversationExists.get(conversationId)) return unknownConversation(conversationId);
      const since = p.value.sinceSeq ?? 0;
      const args = { id: conversationId, since, before: p.value.beforeSeq ?? NO_UPPER_BOUND };
      const newest = p.value.limit !== undefined;
      // Rows are read one at a time and the read stops at the byte cap, so a huge log is never loaded.
      const source = newest
        ? this.#s.window.iterate({ ...args, limit: p.value.limit ?? -1 })
        : this.#s.windowAsc.iterate(args);
      const cut = takeWithinBytes(source, p.value.maxBytes ?? DEFAULT_WINDOW_BYTES);
      const rows = cut.rows;
      if (newest) rows.reverse();
      const problems: RowProblem[] = [];
      const chunks: StoredChunk[] = [];
      for (const row of rows) {
        const chunk = this.#decode(conversationId, row, problems);
        if (chunk) chunks.push({ seq: row.seq, role: row.role, chunk, messageId: row.message_id });
      }
      const latestSeq = rows.at(-1)?.seq ?? since;
      const window: ConversationWindow = { chunks, latestSeq, problems };
      if (cut.more) window.more = newest ? { beforeSeq: rows[0]?.seq ?? 1 } : { sinceSeq: latestSeq };
      return ok(window);
    });
  }

  loadHistory(conversationId: string, opts: { fromSeq?: number } = {}): Result<History> {
    const id = parseInput(KeySchema, conversationId, "loadHistory conversationId");
    if (!id.ok) return id;
    const p = parseInput(HistoryOptionsSchema, opts, `loadHistory "${conversationId}" opts`);
    if (!p.ok) return p;
    return this.#read(`loadHistory "${conversationId}"`, () => {
      const conv = this.#row(conversationId);
      if (!conv) return unknownConversation(conversationId);
      const from = p.value.fromSeq ?? conv.history_start_seq;
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
    });
  }

  /**
   * Runs a read; a SQLite failure (a damaged page: SQLITE_CORRUPT, an I/O error) becomes
   * STORE_READ_FAILED naming `what`, so a bad file fails one request instead of throwing.
   */
  #read<T>(what: string, fn: () => Result<T>): Result<T> {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof SQLiteError)) throw err;
      this.#log.error("read failed", { what, code: err.code, problem: err.message });
      return fail("STORE_READ_FAILED", `${what}: ${err.message} (${err.code ?? "SQLITE_ERROR"})`);
    }
  }

  #decode(conversationId: string, row: ChunkRow, problems: RowProblem[]): Chunk | undefined {
    const d = decodeChunk(row.chunk);
    if (d.ok) return d.chunk;
    problems.push({ seq: row.seq, message: d.message });
    this.#log.warn("skipping malformed chunk row", { conversationId, seq: row.seq, problem: d.message });
    return undefined;
  }

  copyMessages(fromId: string, toId: string, range: CopyRange): Result<CopyResult> {
    const from = parseInput(KeySchema, fromId, "copyMessages fromId");
    if (!from.ok) return from;
    const to = parseInput(KeySchema, toId, "copyMessages toId");
    if (!to.ok) return to;
    const p = parseInput(CopyRangeSchema, range, `copyMessages "${fromId}" → "${toId}" range`);
    if (!p.ok) return p;
    if (fromId === toId)
      return fail("STORE_INVALID_INPUT", `copyMessages: source and target are both "${fromId}"`);
    return this.#write(() => {
      const src = this.#row(fromId);
      if (!src) return unknownConversation(fromId);
      const dst = this.#row(toId);
      if (!dst) return unknownConversation(toId);
      return ok(copyRange(this.#s, src, dst, p.value.fromSeq ?? 1, p.value.uptoSeq));
    });
  }

  appendCompaction(conversationId: string, input: CompactionInput): Result<CompactionResult> {
    const id = parseInput(KeySchema, conversationId, "appendCompaction conversationId");
    if (!id.ok) return id;
    const p = parseInput(CompactionSchema, input, `appendCompaction "${conversationId}" input`);
    if (!p.ok) return p;
    const { archive, messages } = p.value;
    if (archive?.conversation.id === conversationId) {
      return fail(
        "STORE_INVALID_INPUT",
        `appendCompaction "${conversationId}" input.archive.conversation.id: the archive cannot be the conversation itself`,
      );
    }
    return this.#write(() => {
      const conv = this.#row(conversationId);
      if (!conv) return unknownConversation(conversationId, "appendCompaction");
      let copied: CopyResult | undefined;
      if (archive) {
        const a = archive.conversation;
        if (this.#row(a.id)) {
          return fail(
            "STORE_CONVERSATION_EXISTS",
            `appendCompaction "${conversationId}": archive conversation "${a.id}" already exists`,
          );
        }
        const target = this.#insert(
          { ...a, status: a.status ?? "closed", compactedFrom: a.compactedFrom ?? conversationId },
          undefined,
        );
        copied = copyRange(this.#s, conv, target, archive.fromSeq ?? 1, archive.uptoSeq);
      }
      const appended = appendMessages(this.#s, conv, messages, {
        title: titleFromStep(messages),
        at: this.#now(),
        what: "appendCompaction",
      });
      if (!appended.ok) return appended;
      this.#s.setHistoryStart.run({ id: conversationId, seq: appended.value.firstSeq });
      const result: CompactionResult = { ...appended.value, historyStartSeq: appended.value.firstSeq };
      if (copied) result.archive = copied;
      return ok(result);
    });
  }

  // ── turns, permission requests, the message queue, workspaces ──

  beginTurn: SideTables["beginTurn"] = (t) => this.#side.beginTurn(t);
  endTurn: SideTables["endTurn"] = (id, end) => this.#side.endTurn(id, end);
  getTurn: SideTables["getTurn"] = (id) => this.#side.getTurn(id);
  listTurns: SideTables["listTurns"] = (id) => this.#side.listTurns(id);
  savePermissionRequest: SideTables["savePermissionRequest"] = (r) => this.#side.savePermissionRequest(r);
  resolvePermissionRequest: SideTables["resolvePermissionRequest"] = (id, d, at) =>
    this.#side.resolvePermissionRequest(id, d, at);
  listPendingPermissionRequests: SideTables["listPendingPermissionRequests"] = (id) =>
    this.#side.listPendingPermissionRequests(id);
  enqueueMessage: QueueTable["enqueueMessage"] = (m) => this.#queue.enqueueMessage(m);
  removeQueuedMessage: QueueTable["removeQueuedMessage"] = (c, m) => this.#queue.removeQueuedMessage(c, m);
  clearQueuedMessages: QueueTable["clearQueuedMessages"] = (c) => this.#queue.clearQueuedMessages(c);
  listQueuedMessages: QueueTable["listQueuedMessages"] = (c) => this.#queue.listQueuedMessages(c);
  listAllQueuedMessages: QueueTable["listAllQueuedMessages"] = () => this.#queue.listAllQueuedMessages();

  // ── share links ──

  createShare: ShareTable["createShare"] = (s) => this.#shares.createShare(s);
  getShare: ShareTable["getShare"] = (id) => this.#shares.getShare(id);
  listShares: ShareTable["listShares"] = (c) => this.#shares.listShares(c);
  listUnexpiredShares: ShareTable["listUnexpiredShares"] = (now) => this.#shares.listUnexpiredShares(now);
  revokeShare: ShareTable["revokeShare"] = (id, at) => this.#shares.revokeShare(id, at);
  listWorkspaces: SideTables["listWorkspaces"] = () => this.#side.listWorkspaces();
  getWorkspace: SideTables["getWorkspace"] = (id) => this.#side.getWorkspace(id);
  createWorkspace: SideTables["createWorkspace"] = (w) => this.#side.createWorkspace(w);
  updateWorkspace: SideTables["updateWorkspace"] = (id, w) => this.#side.updateWorkspace(id, w);
  deleteWorkspace: SideTables["deleteWorkspace"] = (id) => this.#side.deleteWorkspace(id);

  // ── lifecycle ──

  recover(): RecoveryReport {
    const now = this.#now();
    const r = this.#write(() => {
      const promoted = this.#promoteInflight(now);
      if (!promoted.ok) return promoted;
      return ok({
        conversationsReset: this.#s.resetConversations.run().changes,
        turnsInterrupted: this.#s.interruptTurns.run({ now }).changes,
        permissionRequestsExpired: this.#s.expirePermissions.run({ now }).changes,
        ...promoted.value,
      });
    });
    if (!r.ok) throw new Error(`boot recovery failed: ${r.error.message}`);
    return r.value;
  }

  /** Inside recover's transaction: every in-flight step becomes an interrupted step of its log. */
  #promoteInflight(now: number): Result<Pick<RecoveryReport, "stepsPromoted" | "interruptedToolRuns">> {
    const byConversation = new Map<string, InflightRow[]>();
    for (const row of this.#s.allInflight.iterate()) {
      const rows = byConversation.get(row.conversation_id);
      if (rows) rows.push(row);
      else byConversation.set(row.conversation_id, [row]);
    }
    const interruptedToolRuns: InterruptedToolRun[] = [];
    let stepsPromoted = 0;
    for (const [conversationId, rows] of byConversation) {
      const conv = this.#row(conversationId);
      if (!conv) continue;
      const { messages, runs } = promoteInflight(rows);
      if (messages.length === 0) continue;
      const appended = appendMessages(this.#s, conv, messages, {
        title: undefined,
        at: now,
        what: "recover",
      });
      if (!appended.ok) return appended;
      stepsPromoted += 1;
      interruptedToolRuns.push(...runs);
    }
    this.#s.clearAllInflight.run();
    return ok({ stepsPromoted, interruptedToolRuns });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stmt of Object.values(this.#s)) stmt.finalize();
    this.#db.close(false);
  }
}
