/**
 * One page of the conversation list: newest activity first (then id, descending), keyset-paginated
 * on (lastActivityAt, id), so a cursor stays valid while conversations are added or touched.
 */
import type { ConversationStatus } from "@dispatch/protocol/types";
import type { ListPage, ListQuery } from "./contract";
import { encodeCursor, type ListCursor } from "./cursor";
import { toMeta } from "./rows";
import type { Statements } from "./statements";

/** The rows after `after` that match `query`, at most `limit`, and the cursor of the next page. */
export function listPage(
  s: Statements,
  query: ListQuery,
  limit: number,
  after: ListCursor | undefined,
): ListPage {
  const { status, workspaceId, q } = query;
  const like = q ? escapeLike(q) : undefined;
  const rows = s.listConversations.all({
    workspace: workspaceId ?? null,
    statuses: status && status.length > 0 ? JSON.stringify(status satisfies ConversationStatus[]) : null,
    idPrefix: like === undefined ? null : `${like}%`,
    titleLike: like === undefined ? null : `%${like}%`,
    afterT: after?.lastActivityAt ?? null,
    afterId: after?.id ?? null,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const result: ListPage = { conversations: page.map(toMeta) };
  if (rows.length > limit && last) {
    result.nextCursor = encodeCursor({ lastActivityAt: last.last_activity_at, id: last.id });
  }
  return result;
}

/** Pure: `text` with LIKE's wildcards and the escape character escaped (ESCAPE '\'). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
