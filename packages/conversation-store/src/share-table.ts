/**
 * Share links (`shares`, schema v4): one row per share, holding the secret's hash only. Writes go
 * through the store's transaction runner, like every other table.
 */
import type { Database } from "bun:sqlite";
import { z } from "zod";
import type { Result, ShareRecord } from "./contract";
import { fail, ok, unknownConversation } from "./result";
import { parseInput, time } from "./validation";

type Write = <T>(fn: () => Result<T>) => Result<T>;

interface ShareRow {
  share_id: string;
  conversation_id: string;
  secret_hash: string;
  label: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const ShareInputSchema = z.strictObject({
  shareId: z.string().min(1).max(128),
  conversationId: z.string().min(1),
  secretHash: z.string().regex(/^[0-9a-f]{64}$/, "must be a SHA-256 in lower-case hex"),
  label: z.string().max(200).optional(),
  createdAt: time,
  expiresAt: time,
});

function toShare(row: ShareRow): ShareRecord {
  const r: ShareRecord = {
    shareId: row.share_id,
    conversationId: row.conversation_id,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
  if (row.label !== null) r.label = row.label;
  if (row.revoked_at !== null) r.revokedAt = row.revoked_at;
  return r;
}

export class ShareTable {
  readonly #byId;
  readonly #ofConversation;
  readonly #insert;
  readonly #revoke;
  readonly #conversationExists;
  readonly #unexpired;

  constructor(
    db: Database,
    private readonly write: Write,
  ) {
    this.#byId = db.prepare<ShareRow, [string]>("SELECT * FROM shares WHERE share_id = ?");
    this.#ofConversation = db.prepare<ShareRow, [string]>(
      "SELECT * FROM shares WHERE conversation_id = ? ORDER BY created_at, share_id",
    );
    this.#insert = db.prepare<ShareRow, [Record<string, string | number | null>]>(
      `INSERT INTO shares (share_id, conversation_id, secret_hash, label, created_at, expires_at)
       VALUES (:id, :conversation, :hash, :label, :createdAt, :expiresAt) RETURNING *`,
    );
    this.#revoke = db.prepare<ShareRow, [Record<string, string | number>]>(
      "UPDATE shares SET revoked_at = coalesce(revoked_at, :at) WHERE share_id = :id RETURNING *",
    );
    this.#unexpired = db.prepare<ShareRow, [number]>(
      "SELECT * FROM shares WHERE expires_at > ? ORDER BY created_at, share_id",
    );
    this.#conversationExists = db.prepare<{ one: number }, [string]>(
      "SELECT 1 AS one FROM conversations WHERE id = ?",
    );
  }

  createShare(input: Omit<ShareRecord, "revokedAt">): Result<ShareRecord> {
    const p = parseInput(ShareInputSchema, input, "createShare");
    if (!p.ok) return p;
    const s = p.value;
    if (s.expiresAt <= s.createdAt)
      return fail("STORE_INVALID_INPUT", "createShare: expiresAt must be after createdAt");
    return this.write(() => {
      if (!this.#conversationExists.get(s.conversationId))
        return unknownConversation(s.conversationId, "createShare");
      if (this.#byId.get(s.shareId))
        return fail("STORE_SHARE_EXISTS", `createShare: share "${s.shareId}" exists`);
      const row = this.#insert.get({
        id: s.shareId,
        conversation: s.conversationId,
        hash: s.secretHash,
        label: s.label ?? null,
        createdAt: s.createdAt,
        expiresAt: s.expiresAt,
      });
      return row ? ok(toShare(row)) : fail("STORE_WRITE_FAILED", `share "${s.shareId}" was not stored`);
    });
  }

  getShare(shareId: string): ShareRecord | undefined {
    if (typeof shareId !== "string") return undefined;
    const row = this.#byId.get(shareId);
    return row ? toShare(row) : undefined;
  }

  listShares(conversationId: string): ShareRecord[] {
    if (typeof conversationId !== "string") return [];
    return this.#ofConversation.all(conversationId).map(toShare);
  }

  listUnexpiredShares(now: number): ShareRecord[] {
    return this.#unexpired.all(now).map(toShare);
  }

  revokeShare(shareId: string, revokedAt: number): Result<ShareRecord> {
    if (typeof shareId !== "string")
      return fail("STORE_INVALID_INPUT", "revokeShare: shareId must be a string");
    return this.write(() => {
      const row = this.#revoke.get({ id: shareId, at: revokedAt });
      return row
        ? ok(toShare(row))
        : fail("STORE_UNKNOWN_SHARE", `revokeShare: share "${shareId}" does not exist`);
    });
  }
}
