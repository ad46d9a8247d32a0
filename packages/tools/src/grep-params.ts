/**
 * The grep tool's limits (config) and parameters (what the model sees): shared by the tool and the
 * search it runs in a worker, so neither imports the other.
 */
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import { folderParam, includeIgnoredParam, limit } from "./file-tool";

export const GrepLimits = z.object({
  /** Matching lines returned at most (also the largest `maxMatches` honoured). */
  maxMatches: limit(200),
  /** Files larger than this are skipped. */
  maxFileBytes: limit(2 * 1024 * 1024),
  maxLineChars: limit(300),
  maxVisited: limit(200_000),
  /**
   * The search is stopped after this long. It runs in a worker, so a pattern that backtracks for
   * ever ("(a+)+$") costs that worker this much time and never blocks the daemon.
   */
  timeoutMs: limit(30_000),
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
