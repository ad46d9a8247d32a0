/**
 * Stream positions (PROTOCOL.md §8) — pure. An SSE event id is `<conversationId>:<turnId>:<n>` (the
 * browser sends the last one back as `Last-Event-ID`); a long-poll cursor is `<turnId>:<n>`. Turn ids
 * are minted by the server (UUIDs) and hold no colon, so an id is split at its last two colons and a
 * conversation id may contain colons.
 *
 * Guarantees: parsers never throw; a refusal has a stable code and names the problem; `format*` and
 * `parse*` round-trip.
 */
import { MAX_ID_CHARS } from "@dispatch/protocol";
import type { ResumePoint } from "@dispatch/protocol/types";

export const CursorErrorCodes = [
  /** `Last-Event-ID` is not `<conversationId>:<turnId>:<n>`. */
  "STREAM_INVALID_EVENT_ID",
  /** `after` is not `<turnId>:<n>`. */
  "STREAM_INVALID_CURSOR",
  /** `waitMs` is not an integer in 0..MAX_WAIT_MS. */
  "STREAM_INVALID_WAIT",
] as const;
export type CursorErrorCode = (typeof CursorErrorCodes)[number];

export type Parsed<T> =
  | { ok: true; value: T }
  | { ok: false; error: { code: CursorErrorCode; message: string } };

/** Longest wait of a long-poll. */
export const MAX_WAIT_MS = 30_000;
/** The wait of a long-poll that names none. */
export const DEFAULT_WAIT_MS = 25_000;

const MAX_N = 1_000_000_000;

function shown(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

function fail<T>(code: CursorErrorCode, message: string): Parsed<T> {
  return { ok: false, error: { code, message } };
}

/** Pure: a non-negative event number, or undefined. */
function eventNumber(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_N ? n : undefined;
}

/** Pure: an id part: non-empty, bounded, no colon (turn ids) when `colonFree`. */
function goodId(s: string, colonFree: boolean): boolean {
  return s !== "" && s.length <= MAX_ID_CHARS && !(colonFree && s.includes(":"));
}

/** An SSE position: the conversation and where in its turns the client stands. */
export interface EventPosition {
  conversationId: string;
  resume: ResumePoint;
}

/** Pure: the SSE `id:` of event `n` of `turnId` in `conversationId`. */
export function formatEventId(conversationId: string, turnId: string, n: number): string {
  return `${conversationId}:${turnId}:${n}`;
}

/** Pure: a `Last-Event-ID` value. */
export function parseEventId(raw: string): Parsed<EventPosition> {
  const bad = () =>
    fail<EventPosition>(
      "STREAM_INVALID_EVENT_ID",
      `Last-Event-ID ${shown(raw)}: expected <conversationId>:<turnId>:<n> as sent in the stream's id: lines`,
    );
  const last = raw.lastIndexOf(":");
  if (last <= 0) return bad();
  const mid = raw.lastIndexOf(":", last - 1);
  if (mid <= 0) return bad();
  const conversationId = raw.slice(0, mid);
  const turnId = raw.slice(mid + 1, last);
  const n = eventNumber(raw.slice(last + 1));
  if (n === undefined || !goodId(conversationId, false) || !goodId(turnId, true)) return bad();
  return { ok: true, value: { conversationId, resume: { turnId, n } } };
}

/** Pure: a long-poll cursor. */
export function formatCursor(resume: ResumePoint): string {
  return `${resume.turnId}:${resume.n}`;
}

/** Pure: the `after` query parameter of a long-poll. */
export function parseCursor(raw: string): Parsed<ResumePoint> {
  const last = raw.lastIndexOf(":");
  const turnId = raw.slice(0, Math.max(0, last));
  const n = last === -1 ? undefined : eventNumber(raw.slice(last + 1));
  if (n === undefined || !goodId(turnId, true))
    return fail(
      "STREAM_INVALID_CURSOR",
      `after ${shown(raw)}: expected <turnId>:<n>, the cursor of the previous answer`,
    );
  return { ok: true, value: { turnId, n } };
}

/** Pure: the `waitMs` query parameter (absent → DEFAULT_WAIT_MS). */
export function parseWaitMs(raw: string | null | undefined): Parsed<number> {
  if (raw === null || raw === undefined) return { ok: true, value: DEFAULT_WAIT_MS };
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n > MAX_WAIT_MS)
    return fail("STREAM_INVALID_WAIT", `waitMs ${shown(raw)}: expected an integer from 0 to ${MAX_WAIT_MS}`);
  return { ok: true, value: n };
}
