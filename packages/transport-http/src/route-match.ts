/**
 * Pure: path-pattern matching over the route table's keys, for what Bun's router does not answer
 * itself: which methods a known path allows (405 with `Allow`, CORS preflight).
 */

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** Pure: true when `pathname` matches `pattern` (`:name` segments match one non-empty segment). */
export function matchesPattern(pattern: string, pathname: string): boolean {
  const want = pattern.split("/");
  const got = pathname.split("/");
  if (want.length !== got.length) return false;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(":")) {
      if (g === "") return false;
    } else if (w !== g) return false;
  }
  return true;
}

/**
 * Pure: the methods `pathname` allows according to `table` (pattern → methods), or undefined when no
 * pattern matches. The union over every matching pattern, because Bun's router falls through from a
 * static path that lacks the method to a parameter path that has it.
 */
export function allowedMethods(
  table: Readonly<Record<string, readonly HttpMethod[]>>,
  pathname: string,
): HttpMethod[] | undefined {
  const hits = Object.keys(table).filter((p) => matchesPattern(p, pathname));
  if (hits.length === 0) return undefined;
  const methods = new Set<HttpMethod>();
  for (const h of hits) for (const m of table[h] ?? []) methods.add(m);
  return [...methods];
}
