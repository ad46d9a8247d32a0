import type { ConversationMeta } from "@dispatch/protocol/types";

export type IdResolution =
  | { ok: true; id: string }
  | { ok: false; code: "CLI_UNKNOWN_ID" | "CLI_AMBIGUOUS_ID"; message: string };

/** Pure: resolves a full id or a unique prefix against candidate conversations. */
export function resolveShortId(
  input: string,
  candidates: readonly Pick<ConversationMeta, "id" | "title">[],
): IdResolution {
  const exact = candidates.find((c) => c.id === input);
  if (exact) return { ok: true, id: exact.id };
  const matches = candidates.filter((c) => c.id.startsWith(input));
  const [only] = matches;
  if (matches.length === 1 && only) return { ok: true, id: only.id };
  if (matches.length === 0)
    return { ok: false, code: "CLI_UNKNOWN_ID", message: `no conversation matches "${input}"` };
  const list = matches
    .slice(0, 10)
    .map((c) => `  ${c.id}  ${c.title}`)
    .join("\n");
  const more = matches.length > 10 ? `\n  … and ${matches.length - 10} more` : "";
  return {
    ok: false,
    code: "CLI_AMBIGUOUS_ID",
    message: `"${input}" matches ${matches.length} conversations; use a longer prefix:\n${list}${more}`,
  };
}
