/**
 * Server-sent events framing (the WHATWG `text/event-stream` format) — pure. One frame per protocol
 * message: `id:` (when the event has a position) and one `data:` line of JSON (JSON never holds a raw
 * newline, so one line is always enough).
 */

/** Headers of an SSE response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  // Proxies (nginx) must not hold the stream back.
  "X-Accel-Buffering": "no",
};

/** Seconds between keep-alive comments on a quiet stream. */
export const DEFAULT_KEEPALIVE_SEC = 15;

/** Pure: one SSE event carrying `json` (already serialized), with `id` when given. */
export function sseFrame(json: string, id?: string): string {
  // An id must not hold a newline (it would end the field); ids here never do, but never trust one.
  const idLine = id === undefined ? "" : `id: ${id.replace(/[\r\n]/g, "")}\n`;
  return `${idLine}data: ${json}\n\n`;
}

/** Pure: a comment line (ignored by clients; keeps proxies and the connection alive). */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]/g, " ")}\n\n`;
}

/** Pure: the `retry:` field, telling a browser how long to wait before reconnecting. */
export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Pure and incremental: splits SSE text into events (for clients and tests). Feed chunks as they
 * arrive; complete events are returned, the rest is kept. Comments are dropped.
 */
export class SseParser {
  private rest = "";

  push(chunk: string): SseEvent[] {
    this.rest += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const end = this.rest.search(/\r?\n\r?\n/);
      if (end === -1) return out;
      const block = this.rest.slice(0, end);
      this.rest = this.rest.slice(end).replace(/^\r?\n\r?\n/, "");
      const ev: SseEvent = { data: "" };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line === "" || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(value);
        else if (field === "id") ev.id = value;
        else if (field === "event") ev.event = value;
      }
      if (data.length === 0) continue;
      ev.data = data.join("\n");
      out.push(ev);
    }
  }
}
