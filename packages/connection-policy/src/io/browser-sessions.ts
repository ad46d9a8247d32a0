/**
 * Paired-browser sessions (PROTOCOL.md §1): `dispatch pair` asks for a one-time pairing code (token
 * holders only); opening `/pair?code=…` redeems it for a session cookie. Guarantees:
 * - codes: 128 random bits, single use, expire after PAIRING_CODE_TTL_MS, kept only in memory (hashed);
 * - sessions: cookie `dispatch_session=<id>.<secret>`, secret 256 random bits; only sha256(secret) is
 *   stored, with an expiry; revocable by id; persisted to a 0600 JSON file (atomic rename) when a path
 *   is given, so they survive a restart;
 * - a check never throws: anything unexpected in a cookie is "invalid".
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { SessionState } from "../contract";
import { constantTimeEqual } from "../headers";

export const SESSION_COOKIE = "dispatch_session";
export const PAIRING_CODE_TTL_MS = 5 * 60_000;
const DEFAULT_SESSION_TTL_MS = 30 * 24 * 3600_000;

export interface SessionInfo {
  id: string;
  createdAt: number;
  expiresAt: number;
  /** What redeemed it (the browser's User-Agent, cut), to tell sessions apart in `--list`. */
  label: string;
}

interface StoredSession extends SessionInfo {
  hash: string;
}

export type RedeemResult =
  | { ok: true; cookie: string; session: SessionInfo }
  | { ok: false; code: "PAIR_CODE_INVALID" | "PAIR_CODE_USED" | "PAIR_CODE_EXPIRED"; message: string };

export interface BrowserSessionsOptions {
  /** Where sessions persist (mode 0600); absent = in memory only. */
  file?: string;
  ttlMs?: number;
  now?: () => number;
  /** Told when the file is unreadable or damaged (sessions then start empty). */
  warn?: (message: string) => void;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Pure: the value of the session cookie in a `Cookie` header, if any. */
export function sessionCookie(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Pure: the `Set-Cookie` value for a session. No `Secure`: the daemon speaks plain HTTP. */
export function sessionSetCookie(cookie: string, maxAgeMs: number): string {
  const maxAge = Math.max(0, Math.floor(maxAgeMs / 1000));
  return `${SESSION_COOKIE}=${cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
}

export class BrowserSessions {
  private readonly sessions = new Map<string, StoredSession>();
  /** sha256(code) → expiry; a redeemed code stays (as used) until it would have expired. */
  private readonly codes = new Map<string, { expiresAt: number; used: boolean }>();
  private readonly now: () => number;
  readonly ttlMs: number;

  constructor(private readonly opts: BrowserSessionsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    if (opts.file !== undefined) this.load(opts.file);
  }

  /** A new one-time pairing code. */
  createPairing(): { code: string; expiresAt: number } {
    this.prune();
    const code = randomBytes(16).toString("base64url");
    const expiresAt = this.now() + PAIRING_CODE_TTL_MS;
    this.codes.set(sha256(code), { expiresAt, used: false });
    return { code, expiresAt };
  }

  /** Redeems a code for a new session (once). */
  redeem(code: string, label: string): RedeemResult {
    const entry = this.codes.get(sha256(code));
    if (entry === undefined)
      return {
        ok: false,
        code: "PAIR_CODE_INVALID",
        message: "unknown pairing code: run `dispatch pair` again",
      };
    if (entry.used)
      return {
        ok: false,
        code: "PAIR_CODE_USED",
        message: "this pairing code was already used: run `dispatch pair` again",
      };
    if (entry.expiresAt <= this.now())
      return {
        ok: false,
        code: "PAIR_CODE_EXPIRED",
        message: "this pairing code has expired: run `dispatch pair` again",
      };
    entry.used = true;
    const id = randomBytes(8).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const created = this.now();
    const stored: StoredSession = {
      id,
      hash: sha256(secret),
      createdAt: created,
      expiresAt: created + this.ttlMs,
      label: label.slice(0, 120),
    };
    this.sessions.set(id, stored);
    this.save();
    const { hash: _h, ...session } = stored;
    return { ok: true, cookie: `${id}.${secret}`, session };
  }

  /** What the request's `Cookie` header amounts to. */
  check(cookieHeader: string | null): SessionState {
    const value = sessionCookie(cookieHeader);
    if (value === undefined) return "none";
    const dot = value.indexOf(".");
    const s = dot === -1 ? undefined : this.sessions.get(value.slice(0, dot));
    if (s === undefined || s.expiresAt <= this.now()) return "invalid";
    return constantTimeEqual(sha256(value.slice(dot + 1)), s.hash) ? "valid" : "invalid";
  }

  list(): SessionInfo[] {
    this.prune();
    return [...this.sessions.values()].map(({ hash: _h, ...info }) => info);
  }

  /** Ends a session; false when there is none with that id. */
  revoke(id: string): boolean {
    const had = this.sessions.delete(id);
    if (had) this.save();
    return had;
  }

  private prune(): void {
    const t = this.now();
    let changed = false;
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) changed = this.sessions.delete(id) || changed;
    for (const [h, c] of this.codes) if (c.expiresAt <= t) this.codes.delete(h);
    if (changed) this.save();
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        this.opts.warn?.(`cannot read ${file}: ${String(e)}`);
      return;
    }
    try {
      const data = JSON.parse(text) as { sessions?: StoredSession[] };
      for (const s of data.sessions ?? []) {
        if (typeof s.id === "string" && typeof s.hash === "string" && typeof s.expiresAt === "number")
          this.sessions.set(s.id, { ...s, label: String(s.label ?? "") });
      }
    } catch (e) {
      this.opts.warn?.(`ignoring damaged browser-session file ${file}: ${String(e)}`);
    }
  }

  /** Atomic: a temp file (0600) renamed over the old one. */
  private save(): void {
    const file = this.opts.file;
    if (file === undefined) return;
    const tmp = `${file}.${process.pid}.tmp`;
    const text = JSON.stringify({ version: 1, sessions: [...this.sessions.values()] });
    try {
      writeFileSync(tmp, text, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, file);
    } catch (e) {
      this.opts.warn?.(`cannot save browser sessions to ${file}: ${String(e)}`);
    }
  }
}
