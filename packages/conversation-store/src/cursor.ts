/**
 * The opaque cursor of listConversations: the (lastActivityAt, id) key of the last row of a page,
 * base64url-encoded JSON. Keyset pagination stays correct while conversations are added or touched.
 */
import { z } from "zod";

export interface ListCursor {
  lastActivityAt: number;
  id: string;
}

const CursorSchema = z.object({ t: z.number().int(), id: z.string().min(1) });

/** Pure. */
export function encodeCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify({ t: c.lastActivityAt, id: c.id })).toString("base64url");
}

/** Pure: undefined when `text` is not a cursor this module made. */
export function decodeCursor(text: string): ListCursor | undefined {
  try {
    const r = CursorSchema.safeParse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
    return r.success ? { lastActivityAt: r.data.t, id: r.data.id } : undefined;
  } catch {
    return undefined;
  }
}
