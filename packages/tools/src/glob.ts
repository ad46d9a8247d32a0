import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool } from "./contract";
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
import { SearchFilter } from "./search-filter";
import { searchWalk, underBase, type WalkStats, walkFiles } from "./walk";

export const GlobLimits = z.object({
  /** Matches returned at most (also the largest `limit` honoured). */
  maxResults: limit(500),
  /** Entries visited at most per call, so a huge tree cannot stall the turn. */
  maxVisited: limit(200_000),
});
export type GlobLimits = z.infer<typeof GlobLimits>;

export const GlobParams = Type.Object(
  {
    pattern: Type.String({
      minLength: 1,
      description: 'Glob relative to `path`, e.g. "**/*.ts" or "src/*.json"',
    }),
    path: folderParam("Folder to search (default: the working directory)"),
    includeIgnored: includeIgnoredParam(),
    limit: Type.Optional(Type.Integer({ minimum: 1, description: "Maximum number of paths to return" })),
  },
  { additionalProperties: false },
);

export function globTool(limits: Partial<GlobLimits> = {}): Tool {
  const lim = GlobLimits.parse(limits);
  return defineTool({
    name: "glob",
    description:
      "Find files by glob pattern (Bun.Glob syntax: *, **, ?, [ab], {a,b}) inside the working directory. " +
      "Returns sorted paths relative to the working directory. Skips node_modules and .git unless includeIgnored.",
    parameters: GlobParams,
    permission: (args, cwd) => pathSubject("read", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        const dir = await root.openDir(args.path ?? ".");
        if (!dir.ok) return failure(dir.error);
        const limit = Math.min(args.limit ?? lim.maxResults, lim.maxResults);
        const glob = new Bun.Glob(args.pattern);
        const filter = new SearchFilter(root, ctx.searchAccess);
        const stats: WalkStats = { visited: 0, truncated: false };
        const found: string[] = [];
        let more = false;
        try {
          for await (const entry of walkFiles(
            dir.value,
            searchWalk(dir.value.real, {
              includeIgnored: args.includeIgnored,
              maxVisited: lim.maxVisited,
              signal: ctx.signal,
              prune: (rel) => filter.pruneDir(underBase(dir.value.rel, rel)),
            }),
            stats,
          )) {
            if (!glob.match(entry.rel)) continue;
            const rel = underBase(dir.value.rel, entry.rel);
            if ((await filter.entry(rel, entry.kind === "symlink")) === "hide") continue;
            if (found.length === limit) {
              more = true;
              break;
            }
            found.push(rel);
          }
        } finally {
          await dir.value.close();
        }
        if (ctx.signal.aborted) return failure({ code: "TOOL_ABORTED", message: "the turn was stopped" });
        const notes: string[] = [];
        if (more)
          notes.push(`[more than ${limit} matches; showing the first ${limit}: narrow the pattern or path]`);
        if (stats.truncated) notes.push(`[search stopped after visiting ${stats.visited} entries]`);
        notes.push(...filter.notes());
        if (found.length === 0)
          return success([`No files match ${args.pattern} in ${dir.value.rel}`, ...notes].join("\n"));
        return success([...found, ...notes].join("\n"));
      }),
  });
}
