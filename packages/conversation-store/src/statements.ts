/**
 * Every SQL statement the store runs, prepared once per connection. Filters are expressed with
 * nullable parameters (`:x IS NULL OR …`) so that each query is one static, cached statement.
 */
import type { Database } from "bun:sqlite";
import type { InflightRow } from "./inflight";
import type {
  ChunkRow,
  ConversationRow,
  HistoryRow,
  PermissionRow,
  QueuedRow,
  TurnRow,
  WorkspaceRow,
} from "./rows";

type Params = Record<string, string | number | boolean | bigint | null>;

/** The window query; exported so a test can EXPLAIN it. Newest first, the caller reverses. */
export const WINDOW_SQL = `SELECT seq, message_id, role, chunk FROM chunks
  WHERE conversation_id = :id AND seq > :since AND seq < :before
  ORDER BY seq DESC LIMIT :limit`;

/** The forward window (no limit): oldest first, so a byte cap keeps the start and the rest follows. */
const WINDOW_ASC_SQL = `SELECT seq, message_id, role, chunk FROM chunks
  WHERE conversation_id = :id AND seq > :since AND seq < :before
  ORDER BY seq`;

/** The list query; exported so a test can EXPLAIN it. Keyset on (last_activity_at, id) descending. */
export const LIST_SQL = `SELECT * FROM conversations
  WHERE (:workspace IS NULL OR workspace_id = :workspace)
    AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
    AND (:idPrefix IS NULL OR id LIKE :idPrefix ESCAPE '\\' OR title LIKE :titleLike ESCAPE '\\')
    AND (:afterT IS NULL OR last_activity_at < :afterT OR (last_activity_at = :afterT AND id < :afterId))
  ORDER BY last_activity_at DESC, id DESC
  LIMIT :limit`;

export function prepareStatements(db: Database) {
  const q = <R, P extends Params = Params>(sql: string) => db.prepare<R, [P]>(sql);
  const q1 = <R>(sql: string) => db.prepare<R, [string]>(sql);
  return {
    // conversations
    conversationById: q1<ConversationRow>("SELECT * FROM conversations WHERE id = ?1"),
    conversationExists: q1<{ one: 1 }>("SELECT 1 AS one FROM conversations WHERE id = ?1"),
    insertConversation: q<ConversationRow>(
      `INSERT INTO conversations (id, title, status, workspace_id, model, cwd, reasoning_effort,
         created_at, last_activity_at, compacted_from)
       VALUES (:id, :title, :status, :workspace, :model, :cwd, :effort, :createdAt, :activity, :compactedFrom)
       RETURNING *`,
    ),
    /** `set*` flags distinguish "leave alone" from "set to NULL" for the nullable settings. */
    updateConversation: q<ConversationRow>(
      `UPDATE conversations SET
         title = coalesce(:title, title),
         status = coalesce(:status, status),
         workspace_id = coalesce(:workspace, workspace_id),
         last_activity_at = coalesce(:activity, last_activity_at),
         history_start_seq = coalesce(:historyStart, history_start_seq),
         model = CASE WHEN :setModel THEN :model ELSE model END,
         cwd = CASE WHEN :setCwd THEN :cwd ELSE cwd END,
         reasoning_effort = CASE WHEN :setEffort THEN :effort ELSE reasoning_effort END
       WHERE id = :id RETURNING *`,
    ),
    advanceConversation: q(
      `UPDATE conversations SET last_seq = :lastSeq, last_activity_at = :activity,
         title = CASE WHEN title = '' AND :title IS NOT NULL THEN :title ELSE title END
       WHERE id = :id`,
    ),
    setLastSeq: q("UPDATE conversations SET last_seq = :lastSeq WHERE id = :id"),
    setHistoryStart: q("UPDATE conversations SET history_start_seq = :seq WHERE id = :id"),
    listConversations: q<ConversationRow>(LIST_SQL),
    resetConversations: db.prepare<never, []>(
      "UPDATE conversations SET status = 'idle' WHERE status IN ('active', 'queued')",
    ),

    // log
    messageRole: q<{ role: string }>(
      "SELECT role FROM messages WHERE conversation_id = :id AND message_id = :messageId",
    ),
    insertMessage: q(
      `INSERT INTO messages (conversation_id, message_id, role, turn_id, first_seq)
       VALUES (:id, :messageId, :role, :turnId, :firstSeq)`,
    ),
    insertChunk: q(
      `INSERT INTO chunks (conversation_id, seq, message_id, role, chunk)
       VALUES (:id, :seq, :messageId, :role, :chunk)`,
    ),
    window: q<ChunkRow>(WINDOW_SQL),
    windowAsc: q<ChunkRow>(WINDOW_ASC_SQL),

    // the in-flight step
    insertInflight: q(
      `INSERT INTO inflight_parts (conversation_id, part, turn_id, step_id, message_id, kind, body)
       VALUES (:id, (SELECT coalesce(max(part), 0) + 1 FROM inflight_parts WHERE conversation_id = :id),
         :turnId, :stepId, :messageId, :kind, :body)`,
    ),
    clearInflight: q1("DELETE FROM inflight_parts WHERE conversation_id = ?1"),
    allInflight: db.prepare<InflightRow, []>("SELECT * FROM inflight_parts ORDER BY conversation_id, part"),
    clearAllInflight: db.prepare<never, []>("DELETE FROM inflight_parts"),
    /** LEFT JOIN: a chunk whose message row is missing still has its own id and role to load by. */
    history: q<HistoryRow>(
      `SELECT c.seq, c.message_id, c.role, c.chunk, m.turn_id FROM chunks c
         LEFT JOIN messages m ON m.conversation_id = c.conversation_id AND m.message_id = c.message_id
       WHERE c.conversation_id = :id AND c.seq >= :from ORDER BY c.seq`,
    ),
    copyMessages: q(
      `INSERT INTO messages (conversation_id, message_id, role, turn_id, first_seq)
       SELECT :to, m.message_id, m.role, m.turn_id, :base + min(c.seq) - :from + 1
         FROM chunks c JOIN messages m ON m.conversation_id = c.conversation_id AND m.message_id = c.message_id
        WHERE c.conversation_id = :src AND c.seq BETWEEN :from AND :upto
        GROUP BY m.message_id
       ON CONFLICT DO NOTHING`,
    ),
    copyChunks: q(
      `INSERT INTO chunks (conversation_id, seq, message_id, role, chunk)
       SELECT :to, :base + seq - :from + 1, message_id, role, chunk FROM chunks
        WHERE conversation_id = :src AND seq BETWEEN :from AND :upto ORDER BY seq`,
    ),

    // turns
    turnById: q1<TurnRow>("SELECT * FROM turns WHERE id = ?1"),
    turnsOf: q1<TurnRow>("SELECT * FROM turns WHERE conversation_id = ?1 ORDER BY started_at, rowid"),
    insertTurn: q<TurnRow>(
      `INSERT INTO turns (id, conversation_id, status, started_at)
       VALUES (:id, :conversationId, 'running', :startedAt) RETURNING *`,
    ),
    endTurn: q<TurnRow>(
      `UPDATE turns SET status = :status, ended_at = :endedAt, usage = :usage, metrics = :metrics
       WHERE id = :id RETURNING *`,
    ),
    interruptTurns: q("UPDATE turns SET status = 'interrupted', ended_at = :now WHERE status = 'running'"),

    // permission requests
    permissionById: q1<PermissionRow>("SELECT * FROM permission_requests WHERE id = ?1"),
    insertPermission: q<PermissionRow>(
      `INSERT INTO permission_requests
         (id, conversation_id, turn_id, tool_call_id, tool_name, input, reason, status, created_at)
       VALUES (:id, :conversationId, :turnId, :toolCallId, :toolName, :input, :reason, 'pending', :createdAt)
       RETURNING *`,
    ),
    resolvePermission: q<PermissionRow>(
      `UPDATE permission_requests SET status = :status, resolved_at = :at
       WHERE id = :id AND status = 'pending' RETURNING *`,
    ),
    pendingPermissions: q1<PermissionRow>(
      `SELECT * FROM permission_requests WHERE conversation_id = ?1 AND status = 'pending'
       ORDER BY created_at, rowid`,
    ),
    expirePermissions: q(
      "UPDATE permission_requests SET status = 'expired', resolved_at = :now WHERE status = 'pending'",
    ),

    // the message queue
    insertQueued: q<QueuedRow>(
      `INSERT INTO queued_messages (conversation_id, message_id, text, workspace_id, created_at, position)
       VALUES (:id, :messageId, :text, :workspace, :createdAt,
         (SELECT coalesce(max(position), 0) + 1 FROM queued_messages WHERE conversation_id = :id))
       RETURNING *`,
    ),
    queuedExists: q<{ one: 1 }>(
      "SELECT 1 AS one FROM queued_messages WHERE conversation_id = :id AND message_id = :messageId",
    ),
    deleteQueued: q("DELETE FROM queued_messages WHERE conversation_id = :id AND message_id = :messageId"),
    clearQueued: q1("DELETE FROM queued_messages WHERE conversation_id = ?1"),
    queuedOf: q1<QueuedRow>("SELECT * FROM queued_messages WHERE conversation_id = ?1 ORDER BY position"),
    allQueued: db.prepare<QueuedRow, []>("SELECT * FROM queued_messages ORDER BY conversation_id, position"),

    // workspaces
    workspaces: db.prepare<WorkspaceRow, []>("SELECT * FROM workspaces ORDER BY id = 'default' DESC, id"),
    workspaceById: q1<WorkspaceRow>("SELECT * FROM workspaces WHERE id = ?1"),
    insertWorkspace: q<WorkspaceRow>(
      `INSERT INTO workspaces (id, title, default_cwd, created_at) VALUES (:id, :title, :cwd, :createdAt)
       RETURNING *`,
    ),
    /** Conversations may name a workspace nobody created yet (clients mint ids): it appears on use. */
    touchWorkspace: q(
      "INSERT OR IGNORE INTO workspaces (id, title, created_at) VALUES (:id, :id, :createdAt)",
    ),
    updateWorkspace: q<WorkspaceRow>(
      `UPDATE workspaces SET title = coalesce(:title, title),
         default_cwd = CASE WHEN :setCwd THEN :cwd ELSE default_cwd END
       WHERE id = :id RETURNING *`,
    ),
    workspaceInUse: q1<{ one: 1 }>("SELECT 1 AS one FROM conversations WHERE workspace_id = ?1 LIMIT 1"),
    deleteWorkspace: q1("DELETE FROM workspaces WHERE id = ?1"),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
