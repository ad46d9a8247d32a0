/** Pure naming of MCP tools as the model sees them: `mcp__<server>__<tool>`. */

/** Providers accept function names of [A-Za-z0-9_-], at most 64 characters. */
const MAX_NAME = 64;

/** Pure: the prefix of every tool of `server`. */
export function toolPrefix(server: string): string {
  return `mcp__${server}__`;
}

/**
 * Pure: the exposed name of each of a server's tools, in order. Characters providers reject become
 * `_`; names are cut to 64 characters; a name that would repeat an earlier one gets `_2`, `_3`, ….
 */
export function exposedNames(server: string, tools: readonly string[]): string[] {
  const used = new Set<string>();
  return tools.map((tool) => {
    const base = `${toolPrefix(server)}${tool.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, MAX_NAME);
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base.slice(0, MAX_NAME - String(n).length - 1)}_${n}`;
    used.add(name);
    return name;
  });
}
