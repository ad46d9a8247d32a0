/**
 * Pure: the title a conversation gets from its first user text: whitespace collapsed, at most
 * TITLE_MAX characters, cut at a word boundary when one is near, with an ellipsis when shortened.
 */
import type { AppendMessage } from "./contract";

export const TITLE_MAX = 80;

/** Pure. */
export function titleFromText(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= TITLE_MAX) return flat;
  const cut = flat.slice(0, TITLE_MAX - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space >= TITLE_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Pure: the title for a step's first user text chunk, or undefined when the step has none. */
export function titleFromStep(messages: readonly AppendMessage[]): string | undefined {
  for (const m of messages) {
    if (m.role !== "user") continue;
    for (const c of m.chunks) {
      if (c.type !== "text") continue;
      const title = titleFromText(c.text);
      if (title !== "") return title;
    }
  }
  return undefined;
}
