/**
 * Row shapes as SQLite returns them, and their pure mappings to contract records. Optional fields are
 * omitted when NULL (the protocol never sends `null` for an absent field).
 */
import { ChunkSchema, UsageSchema } from "@dispatch/protocol";
import type {
  Chunk,
  ConversationMeta,
  ConversationStatus,
  ReasoningEffort,
  Role,
} from "@dispatch/protocol/types";
import type {
  ConversationRecord,
  PermissionRequestRecord,
  PermissionRequestStatus,
  QueuedMessageRecord,
  TurnRecord,
  TurnStatus,
  Workspace,
} from "./contract";

export interface ConversationRow {
  id: string;
  title: string;
  status: ConversationStatus;
  workspace_id: string;
  model: string | null;
  cwd: string | null;
  reasoning_effort: ReasoningEffort | null;
  created_at: number;
  last_activity_at: number;
  compacted_from: string | null;
  last_seq: number;
  history_start_seq: number;
}

export interface ChunkRow {
  seq: number;
  message_id: string;
  role: Role;
  chunk: string;
}

export interface HistoryRow extends ChunkRow {
  turn_id: string | null;
}

export interface TurnRow {
  id: string;
  conversation_id: string;
  status: TurnStatus;
  started_at: number;
  ended_at: number | null;
  usage: string | null;
  metrics: string | null;
}

export interface PermissionRow {
  id: string;
  conversation_id: string;
  turn_id: string;
  tool_call_id: string;
  tool_name: string;
  input: string;
  reason: string;
  status: PermissionRequestStatus;
  created_at: number;
  resolved_at: number | null;
}

export interface QueuedRow {
  conversation_id: string;
  message_id: string;
  text: string;
  workspace_id: string | null;
  created_at: number;
  position: number;
}

export interface WorkspaceRow {
  id: string;
  title: string;
  default_cwd: string | null;
  created_at: number;
}

/** Pure. */
export function toMeta(r: ConversationRow): ConversationMeta {
  const meta: ConversationMeta = {
    id: r.id,
    title: r.title,
    status: r.status,
    workspaceId: r.workspace_id,
    createdAt: r.created_at,
    lastActivityAt: r.last_activity_at,
  };
  if (r.model !== null) meta.model = r.model;
  if (r.compacted_from !== null) meta.compactedFrom = r.compacted_from;
  return meta;
}

/** Pure. */
export function toRecord(r: ConversationRow): ConversationRecord {
  const rec: ConversationRecord = { ...toMeta(r), lastSeq: r.last_seq, historyStartSeq: r.history_start_seq };
  if (r.cwd !== null) rec.cwd = r.cwd;
  if (r.reasoning_effort !== null) rec.reasoningEffort = r.reasoning_effort;
  return rec;
}

/** Pure. JSON columns are written by this package; a value that fails to parse becomes undefined. */
function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Pure. A usage or metrics column that does not hold what endTurn writes (a damaged or hand-edited
 * row) is left out rather than handed on with the wrong type.
 */
export function toTurn(r: TurnRow): TurnRecord {
  const t: TurnRecord = {
    turnId: r.id,
    conversationId: r.conversation_id,
    status: r.status,
    startedAt: r.started_at,
  };
  if (r.ended_at !== null) t.endedAt = r.ended_at;
  const usage = UsageSchema.safeParse(parseJson(r.usage));
  if (usage.success) t.usage = usage.data;
  const metrics = parseJson(r.metrics);
  if (typeof metrics === "object" && metrics !== null && !Array.isArray(metrics)) {
    t.metrics = metrics as Record<string, unknown>;
  }
  return t;
}

/** Pure. */
export function toPermission(r: PermissionRow): PermissionRequestRecord {
  const p: PermissionRequestRecord = {
    requestId: r.id,
    conversationId: r.conversation_id,
    turnId: r.turn_id,
    toolCallId: r.tool_call_id,
    toolName: r.tool_name,
    input: parseJson(r.input),
    reason: r.reason,
    createdAt: r.created_at,
    status: r.status,
  };
  if (r.resolved_at !== null) p.resolvedAt = r.resolved_at;
  return p;
}

/** Pure. */
export function toQueued(r: QueuedRow): QueuedMessageRecord {
  const q: QueuedMessageRecord = {
    conversationId: r.conversation_id,
    messageId: r.message_id,
    text: r.text,
    createdAt: r.created_at,
    position: r.position,
  };
  if (r.workspace_id !== null) q.workspaceId = r.workspace_id;
  return q;
}

/** Pure. */
export function toWorkspace(r: WorkspaceRow): Workspace {
  const w: Workspace = { id: r.id, title: r.title, createdAt: r.created_at };
  if (r.default_cwd !== null) w.defaultCwd = r.default_cwd;
  return w;
}

export type Decoded = { ok: true; chunk: Chunk } | { ok: false; message: string };

/** Pure: a stored chunk column back to a Chunk, or why it is not one. */
export function decodeChunk(text: string): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `invalid chunk JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const r = ChunkSchema.safeParse(raw);
  if (r.success) return { ok: true, chunk: r.data };
  const issue = r.error.issues[0];
  return {
    ok: false,
    message: `not a chunk: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`,
  };
}
