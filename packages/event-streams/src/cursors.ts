/**
 * Stream positions (PROTOCOL.md §8) — pure. An SSE event id is `<conversationId>:<turnId>:<n>` (the
 * browser sends the last one back as `Last-Event-ID`), followed on wildcard channels by the place on
 * the daemon's event clock, `@<clock>.<at>`; a long-poll cursor is `<turnId>:<n>`. Turn ids
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

/** A place on the daemon's event clock (the orchestrator's `eventClock` and an event's `at`). */
export interface ClockPlace {
  clock: string;
  at: number;
}

/** An SSE position: the conversation and where in its turns the client stands. */
export interface EventPosition {
  conversationId: string;
  resume: ResumePoint;
  /**
   * Where on the event clock the stream stood (ids of wildcard channels carry it): a reconnect is
   * given every event of every conversation after it, not only the named one's.
   */
  place?: ClockPlace;
}

const PLACE = /@([0-9a-f]{1,32})\.(\d{1,15})$/;

/**
 * Pure: the SSE `id:` of event `n` of `turnId` in `conversationId`; with `place` (wildcard channels)
 * `<conversationId>:<turnId>:<n>@<clock>.<at>`.
 */
export function formatEventId(conversationId: string, turnId: string, n: number, place?: ClockPlace): string {
  const id = `${conversationId}:${turnId}:${n}`;
  return place === undefined ? id : `${id}@${place.clock}.${place.at}`;
}

/** Pure: a `Last-Event-ID` value. */
export function parseEventId(raw: string): Parsed<EventPosition> {
  const bad = () =>
    fail<EventPosition>(
      "STREAM_INVALID_EVENT_ID",
      `Last-Event-ID ${shown(raw)}: expected <conversationId>:<turnId>:<n> as sent in the stream's id: lines`,
    );
  // An n is digits only, so a trailing `@<hex>.<digits>` is always a clock place.
  const m = PLACE.exec(raw);
  const place = m ? { clock: m[1] as string, at: Number(m[2]) } : undefined;
  const plain = m ? raw.slice(0, m.index) : raw;
  const last = plain.lastIndexOf(":");
  if (last <= 0) return bad();
  const mid = plain.lastIndexOf(":", last - 1);
  if (mid <= 0) return bad();
  const conversationId = plain.slice(0, mid);
  const turnId = plain.slice(mid + 1, last);
  const n = eventNumber(plain.slice(last + 1));
  if (n === undefined || !goodId(conversationId, false) || !goodId(turnId, true)) return bad();
  const resume = { turnId, n };
  return { ok: true, value: place ? { conversationId, resume, place } : { conversationId, resume } };
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
