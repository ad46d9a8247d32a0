import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool, ToolContext } from "./contract";
import { defineTool } from "./define-tool";
import {
  failure,
  folderParam,
  includeIgnoredParam,
  limit,
  pathSubject,
  success,
  withRoot,
} from "./file-tool";
import type { FsRoot } from "./fs-root";
import { underBase } from "./glob";
import { clipLine, formatBytes, isBinaryFile, readLines } from "./text";
import { DEFAULT_IGNORED_DIRS, type WalkStats, walkFiles } from "./walk";

export const GrepLimits = z.object({
  /** Matching lines returned at most (also the largest `maxMatches` honoured). */
  maxMatches: limit(200),
  /** Files larger than this are skipped. */
  maxFileBytes: limit(2 * 1024 * 1024),
  maxLineChars: limit(300),
  maxVisited: limit(200_000),
});
export type GrepLimits = z.infer<typeof GrepLimits>;

export const GrepParams = Type.Object(
  {
    pattern: Type.String({ minLength: 1, description: "JavaScript regular expression, matched per line" }),
    path: folderParam("File or folder to search (default: the working directory)"),
    glob: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Only files matching this glob; without "/" it matches file names ("*.ts")',
      }),
    ),
    ignoreCase: Type.Optional(Type.Boolean()),
    maxMatches: Type.Optional(Type.Integer({ minimum: 1 })),
    includeIgnored: includeIgnoredParam(),
  },
  { additionalProperties: false },
);

/** Pure: whether `rel` passes the file filter (a pattern without "/" matches the file name). */
export function fileFilter(pattern: string | undefined): (rel: string) => boolean {
  if (pattern === undefined) return () => true;
  const glob = new Bun.Glob(pattern);
  return pattern.includes("/")
    ? (rel) => glob.match(rel)
    : (rel) => glob.match(rel.slice(rel.lastIndexOf("/") + 1));
}

interface Search {
  regex: RegExp;
  max: number;
  matches: string[];
  skipped: number;
}

async function searchFile(
  root: FsRoot,
  rel: string,
  s: Search,
  lim: GrepLimits,
  ctx: ToolContext,
): Promise<boolean> {
  const opened = await root.openFile(rel);
  if (!opened.ok) return true;
  const { fh, size } = opened.value;
  try {
    if (size > lim.maxFileBytes || (await isBinaryFile(fh))) {
      s.skipped++;
      return true;
    }
    let n = 0;
    for await (const line of readLines(fh)) {
      n++;
      s.regex.lastIndex = 0;
      if (!s.regex.test(line)) continue;
      if (s.matches.length === s.max) return false;
      s.matches.push(`${rel}:${n}: ${clipLine(line, lim.maxLineChars)}`);
    }
    return !ctx.signal.aborted;
  } finally {
    await fh.close();
  }
}

export function grepTool(limits: Partial<GrepLimits> = {}): Tool {
  const lim = GrepLimits.parse(limits);
  return defineTool({
    name: "grep",
    description:
      "Search file contents with a regular expression inside the working directory. Prints `path:line: text`. " +
      "Skips binary files, files over " +
      formatBytes(lim.maxFileBytes) +
      ", node_modules and .git (unless includeIgnored).",
    parameters: GrepParams,
    permission: (args, cwd) => pathSubject("read", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        let regex: RegExp;
        try {
          regex = new RegExp(args.pattern, args.ignoreCase ? "i" : "");
        } catch (e) {
          return failure({
            code: "TOOL_INVALID_PATTERN",
            message: `grep: /pattern is not a valid regular expression: ${(e as Error).message}`,
          });
        }
        const s: Search = {
          regex,
          max: Math.min(args.maxMatches ?? lim.maxMatches, lim.maxMatches),
          matches: [],
          skipped: 0,
        };
        const target = await root.resolve(args.path ?? ".");
        if (!target.ok) return failure(target.error);
        const stats: WalkStats = { visited: 0, truncated: false };
        let complete = true;
        if (target.value.stat?.isFile()) {
          complete = await searchFile(root, target.value.rel, s, lim, ctx);
        } else {
          const dir = await root.openDir(target.value.rel);
          if (!dir.ok) return failure(dir.error);
          const wanted = fileFilter(args.glob);
          const ignore = new Set(args.includeIgnored ? [] : DEFAULT_IGNORED_DIRS);
          try {
            for await (const entry of walkFiles(
              dir.value.path,
              { ignore, maxVisited: lim.maxVisited, signal: ctx.signal },
              stats,
            )) {
              if (!wanted(entry.rel)) continue;
              complete = await searchFile(root, underBase(dir.value.rel, entry.rel), s, lim, ctx);
              if (!complete) break;
            }
          } finally {
            await dir.value.close();
          }
        }
        if (ctx.signal.aborted) return failure({ code: "TOOL_ABORTED", message: "the turn was stopped" });
        const notes: string[] = [];
        if (!complete) notes.push(`[stopped at ${s.max} matches; narrow the pattern, path or glob]`);
        if (stats.truncated) notes.push(`[search stopped after visiting ${stats.visited} entries]`);
        if (s.skipped > 0) notes.push(`[${s.skipped} binary or large file(s) skipped]`);
        if (s.matches.length === 0)
          return success([`No matches for /${args.pattern}/ in ${target.value.rel}`, ...notes].join("\n"));
        return success([...s.matches, ...notes].join("\n"));
      }),
  });
}
