/**
 * The grep search itself: walk, filter, match line by line. It runs inside a worker (grep-worker.ts)
 * so that a pattern that backtracks catastrophically blocks only the worker, which grep.ts terminates
 * on timeout or abort, never the daemon's event loop.
 */

import type { Static } from "@sinclair/typebox";
import type { SearchAccess, ToolResult } from "./contract";
import { type FsRoot, openRoot } from "./fs-root";
import type { GrepLimits, GrepParams } from "./grep-params";
import { SearchFilter } from "./search-filter";
import { clipLine, isBinaryFile, readLines } from "./text";
import { failure, success } from "./tool-result";
import { searchWalk, underBase, type WalkStats, walkFiles } from "./walk";

/** What the worker is asked to do (structured-clonable). */
export interface GrepRequest {
  cwd: string;
  /** The per-entry path rules (ToolContext.searchAccess). */
  access?: SearchAccess;
  args: Static<typeof GrepParams>;
  limits: GrepLimits;
}

/** Pure: whether `rel` passes the file filter (a pattern without "/" matches the file name). */
export function fileFilter(pattern: string | undefined): (rel: string) => boolean {
  if (pattern === undefined) return () => true;
  const glob = new Bun.Glob(pattern);
  return pattern.includes("/")
    ? (rel) => glob.match(rel)
    : (rel) => glob.match(rel.slice(rel.lastIndexOf("/") + 1));
}

/** Pure: the pattern compiled, or the TOOL_INVALID_PATTERN result naming the field. */
export function compilePattern(pattern: string, ignoreCase: boolean | undefined): RegExp | ToolResult {
  try {
    return new RegExp(pattern, ignoreCase ? "i" : "");
  } catch (e) {
    return failure({
      code: "TOOL_INVALID_PATTERN",
      message: `grep: /pattern is not a valid regular expression: ${(e as Error).message}`,
    });
  }
}

interface Search {
  regex: RegExp;
  max: number;
  matches: string[];
  skipped: number;
}

/** Searches one file; false once the match limit is reached. Files the path rules cover are not read. */
async function searchFile(
  root: FsRoot,
  rel: string,
  s: Search,
  lim: GrepLimits,
  filter: SearchFilter,
): Promise<boolean> {
  const named = await filter.entry(rel, false);
  if (named === "unread") filter.skipUnread(rel);
  if (named !== "list") return true;
  const opened = await root.openFile(rel);
  if (!opened.ok) return true;
  const { fh, size } = opened.value;
  try {
    // Judged again by the opened file's verified real path: a symlink to a covered file is not read.
    const target = filter.opened(opened.value.real);
    if (target === "unread") filter.skipUnread(rel);
    if (target !== "list") return true;
    if (size > lim.maxFileBytes || (await isBinaryFile(fh))) {
      s.skipped++;
      return true;
    }
    let n = 0;
    // Whole lines are matched (a file is at most maxFileBytes); only the printed line is clipped.
    for await (const line of readLines(fh)) {
      n++;
      if (!s.regex.test(line)) continue;
      if (s.matches.length === s.max) return false;
      s.matches.push(`${rel}:${n}: ${clipLine(line, lim.maxLineChars)}`);
    }
    return true;
  } finally {
    await fh.close();
  }
}

/** The whole grep call: `path:line: text` lines plus notes on limits, or a coded failure. */
export async function grepSearch({ cwd, access, args, limits: lim }: GrepRequest): Promise<ToolResult> {
  const regex = compilePattern(args.pattern, args.ignoreCase);
  if (!(regex instanceof RegExp)) return regex;
  const root = await openRoot(cwd);
  if (!root.ok) return failure(root.error);
  const s: Search = {
    regex,
    max: Math.min(args.maxMatches ?? lim.maxMatches, lim.maxMatches),
    matches: [],
    skipped: 0,
  };
  const filter = new SearchFilter(root.value, access);
  const target = await root.value.resolve(args.path ?? ".");
  if (!target.ok) return failure(target.error);
  const stats: WalkStats = { visited: 0, truncated: false };
  let complete = true;
  if (target.value.stat?.isFile()) {
    complete = await searchFile(root.value, target.value.rel, s, lim, filter);
  } else {
    const dir = await root.value.openDir(target.value.rel);
    if (!dir.ok) return failure(dir.error);
    const wanted = fileFilter(args.glob);
    const walk = searchWalk(dir.value.real, {
      includeIgnored: args.includeIgnored,
      maxVisited: lim.maxVisited,
      prune: (rel) => filter.pruneDir(underBase(dir.value.rel, rel)),
    });
    try {
      for await (const entry of walkFiles(dir.value, walk, stats)) {
        if (!wanted(entry.rel)) continue;
        complete = await searchFile(root.value, underBase(dir.value.rel, entry.rel), s, lim, filter);
        if (!complete) break;
      }
    } finally {
      await dir.value.close();
    }
  }
  const notes: string[] = [];
  if (!complete) notes.push(`[stopped at ${s.max} matches; narrow the pattern, path or glob]`);
  if (stats.truncated) notes.push(`[search stopped after visiting ${stats.visited} entries]`);
  if (s.skipped > 0) notes.push(`[${s.skipped} binary or large file(s) skipped]`);
  notes.push(...filter.notes());
  if (s.matches.length === 0)
    return success([`No matches for /${args.pattern}/ in ${target.value.rel}`, ...notes].join("\n"));
  return success([...s.matches, ...notes].join("\n"));
}
