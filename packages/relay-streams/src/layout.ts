/**
 * What a daemon publishes to Redis for its shared conversations and what a relay reads back — pure:
 * key names, stream entry ids and fields, share records, notifications. The publisher
 * (`@dispatch/relay-publish`) and the relay (`apps/relay`) both use these functions, so the two sides
 * cannot disagree about a key or a field.
 *
 * Layout (prefix `P`, default `dispatch:`; `{…}` is a Redis Cluster hash tag, so every key of one
 * conversation lives in one slot and conversations spread over the cluster by id):
 *   P{c:<id>}:events   stream; entry id `<turnMs>-<n>` (turnMs: the turn's start, strictly increasing
 *                      per conversation; n: the event's 1-based index in its turn), fields
 *                      `t` turnId, `n`, `e` the AgentEvent's JSON; bounded by `XADD … MAXLEN ~`.
 *   P{c:<id>}:turns    hash turnId → turnMs (a `resume: { turnId, n }` becomes a stream id).
 *   P{c:<id>}:chunks   sorted set: score seq, member a StoredChunk's JSON (the history a viewer reads).
 *   P{c:<id>}:meta     hash: status, isActive, workspaceId (GET /conversations/:id/status).
 *   P{c:<id>}:owner    the owner's heartbeat: set with a TTL while the publishing daemon runs.
 *   P share:<shareId>  a share record (JSON: the secret's SHA-256, never the secret); expires with it.
 *   P shares           pub/sub channel: a share changed (revoked) — relays close its viewers at once.
 *
 * Guarantees: ids are explicit, so republishing an event (after a reconnect, after Redis lost its
 * data) is idempotent: Redis refuses an id at or below the stream's top instead of duplicating it;
 * decoders never throw and refuse malformed entries with a reason.
 */
import type { AgentEvent, ConversationStatus, StoredChunk } from "@dispatch/protocol/types";

export const DEFAULT_PREFIX = "dispatch:";

/** The owner's heartbeat: refreshed every HEARTBEAT_MS, gone PRESENCE_TTL_MS after the last one. */
export const HEARTBEAT_MS = 1_000;
export const PRESENCE_TTL_MS = 3_500;

export interface ConversationKeys {
  events: string;
  turns: string;
  chunks: string;
  meta: string;
  owner: string;
}

/** Pure: the keys of one conversation (one cluster slot: the hash tag is the conversation id). */
export function conversationKeys(prefix: string, conversationId: string): ConversationKeys {
  const base = `${prefix}{c:${conversationId}}`;
  return {
    events: `${base}:events`,
    turns: `${base}:turns`,
    chunks: `${base}:chunks`,
    meta: `${base}:meta`,
    owner: `${base}:owner`,
  };
}

/** Pure: the key of a share record (a secret `<shareId>.<verifier>` names its share). */
export function shareKey(prefix: string, shareId: string): string {
  return `${prefix}share:${shareId}`;
}

/** Pure: the pub/sub channel of share changes. */
export function sharesChannel(prefix: string): string {
  return `${prefix}shares`;
}

// ─────────────────────────────── stream ids ───────────────────────────────

export interface StreamId {
  ms: number;
  seq: number;
}

/** Pure: the stream id of event `n` of the turn that started at `turnMs`. */
export function eventStreamId(turnMs: number, n: number): string {
  return `${turnMs}-${n}`;
}

/** Pure: a Redis stream id, or undefined when malformed. */
export function parseStreamId(raw: string): StreamId | undefined {
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(raw);
  if (!m) return undefined;
  const ms = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : undefined;
}

/** Pure: <0, 0, >0 as stream id `a` is before, equal to, after `b` (malformed ids sort first). */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a) ?? { ms: -1, seq: -1 };
  const y = parseStreamId(b) ?? { ms: -1, seq: -1 };
  return x.ms !== y.ms ? x.ms - y.ms : x.seq - y.seq;
}

/** The id before every entry. */
export const STREAM_START = "0-0";

// ─────────────────────────────── entries ───────────────────────────────

/** One published event as read back. */
export interface StreamEntry {
  /** The stream id (`<turnMs>-<n>`). */
  id: string;
  turnId: string;
  n: number;
  event: AgentEvent;
  /** The event's JSON as stored (`JSON.stringify(event)`): frames are built around it, never re-serialized. */
  json: string;
}

/** Pure: the XADD field list of an event. */
export function entryFields(turnId: string, n: number, event: AgentEvent): string[] {
  return ["t", turnId, "n", String(n), "e", JSON.stringify(event)];
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Pure: an entry as XRANGE/XREAD return it (`[id, [field, value, …]]`). `validate` checks the event
 * (the relay passes the protocol's AgentEvent parser: Redis is a boundary).
 */
export function decodeEntry(
  raw: unknown,
  validate: (event: unknown) => AgentEvent | undefined,
): Decoded<StreamEntry> {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== "string" || !Array.isArray(raw[1]))
    return { ok: false, reason: "not an [id, fields] pair" };
  const [id, list] = raw as [string, unknown[]];
  if (parseStreamId(id) === undefined) return { ok: false, reason: `malformed stream id ${id}` };
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const k = list[i];
    const v = list[i + 1];
    if (typeof k === "string" && typeof v === "string") fields.set(k, v);
  }
  const turnId = fields.get("t");
  const n = Number(fields.get("n"));
  const json = fields.get("e");
  if (!turnId || !Number.isSafeInteger(n) || n < 1 || json === undefined)
    return { ok: false, reason: `entry ${id} lacks t, n or e` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { ok: false, reason: `entry ${id}: e is no JSON` };
  }
  const event = validate(parsed);
  if (!event) return { ok: false, reason: `entry ${id}: e is no valid AgentEvent` };
  return { ok: true, value: { id, turnId, n, event, json } };
}

/** Pure: the entries of an XRANGE/XREVRANGE reply (malformed ones reported through `bad`). */
export function decodeEntries(
  raw: unknown,
  validate: (event: unknown) => AgentEvent | undefined,
  bad: (reason: string) => void = () => {},
): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw) {
    const d = decodeEntry(item, validate);
    if (d.ok) out.push(d.value);
    else bad(d.reason);
  }
  return out;
}

/**
 * Pure: the entries per stream key of an XREAD reply. Bun's client answers a RESP3 map as a plain
 * object `{ key: entries }`; RESP2 servers answer `[[key, entries], …]`. Both are accepted.
 */
export function xreadStreams(raw: unknown): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  if (raw === null || raw === undefined) return out;
  if (Array.isArray(raw)) {
    for (const pair of raw) {
      if (Array.isArray(pair) && typeof pair[0] === "string" && Array.isArray(pair[1]))
        out.set(pair[0], pair[1]);
    }
    return out;
  }
  if (typeof raw === "object") {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (Array.isArray(v)) out.set(k, v);
  }
  return out;
}

// ─────────────────────────────── shares ───────────────────────────────

/**
 * A share as a relay needs it — the daemon's share row (conversation-store's `ShareRecord`) without
 * its label: never the secret, only its SHA-256 (`secretHash`), which the relay checks a presented
 * secret against with the shares package's own `verdict`.
 */
export interface ShareRecord {
  shareId: string;
  conversationId: string;
  /** SHA-256 of the secret, lower-case hex. */
  secretHash: string;
  createdAt: number;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms; set once revoked. */
  revokedAt?: number;
}

/** Pure: a share record from its stored JSON, or undefined when malformed. */
export function decodeShare(raw: unknown): ShareRecord | undefined {
  if (typeof raw !== "string") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.shareId !== "string" || r.shareId === "") return undefined;
  if (typeof r.conversationId !== "string" || r.conversationId === "") return undefined;
  if (typeof r.secretHash !== "string" || !/^[0-9a-f]{64}$/.test(r.secretHash)) return undefined;
  if (typeof r.createdAt !== "number") return undefined;
  if (typeof r.expiresAt !== "number" || !Number.isFinite(r.expiresAt)) return undefined;
  if (r.revokedAt !== undefined && typeof r.revokedAt !== "number") return undefined;
  return {
    shareId: r.shareId,
    conversationId: r.conversationId,
    secretHash: r.secretHash,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    ...(typeof r.revokedAt === "number" ? { revokedAt: r.revokedAt } : {}),
  };
}

/** Pure: whether a share admits viewers at `now`. */
export function shareLive(share: ShareRecord, now: number): boolean {
  return share.revokedAt === undefined && share.expiresAt > now;
}

/** A notification on the shares channel. */
export interface ShareNotice {
  shareId: string;
  conversationId: string;
  revoked: boolean;
}

/** Pure: a notice from its pub/sub payload, or undefined. */
export function decodeShareNotice(raw: string): ShareNotice | undefined {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (
      typeof v.shareId === "string" &&
      typeof v.conversationId === "string" &&
      typeof v.revoked === "boolean"
    )
      return { shareId: v.shareId, conversationId: v.conversationId, revoked: v.revoked };
  } catch {}
  return undefined;
}

// ─────────────────────────────── meta and history ───────────────────────────────

export interface ConversationMetaRecord {
  status: ConversationStatus;
  isActive: boolean;
  workspaceId?: string;
}

/** Pure: the HSET field list of a conversation's meta. */
export function metaFields(meta: ConversationMetaRecord): string[] {
  return [
    "status",
    meta.status,
    "isActive",
    meta.isActive ? "1" : "0",
    ...(meta.workspaceId === undefined ? [] : ["workspaceId", meta.workspaceId]),
  ];
}

const STATUSES: readonly ConversationStatus[] = ["active", "queued", "idle", "closed"];

/** Pure: the meta of an HGETALL reply (a null-prototype object or a flat list), or undefined. */
export function decodeMeta(raw: unknown): ConversationMetaRecord | undefined {
  let map: Record<string, unknown> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) map[String(raw[i])] = raw[i + 1];
  } else if (raw && typeof raw === "object") map = raw as Record<string, unknown>;
  const status = map.status as ConversationStatus;
  if (!STATUSES.includes(status)) return undefined;
  return {
    status,
    isActive: map.isActive === "1",
    ...(typeof map.workspaceId === "string" ? { workspaceId: map.workspaceId } : {}),
  };
}

/** Pure: the ZADD arguments (score, member, …) of history chunks. */
export function chunkMembers(chunks: readonly StoredChunk[]): string[] {
  return chunks.flatMap((c) => [String(c.seq), JSON.stringify(c)]);
}
