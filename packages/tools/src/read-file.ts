import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool } from "./contract";
import { defineTool } from "./define-tool";
import { failure, filePathParam, limit, pathSubject, success, withRoot } from "./file-tool";
import { formatBytes, isBinaryFile, readLines } from "./text";

export const ReadFileLimits = z.object({
  /** Lines returned when the call gives no `limit`; also the largest `limit` honoured. */
  maxLines: limit(2000),
  maxLineChars: limit(2000),
  /** Output size cap; the result says where to continue. */
  maxOutputBytes: limit(100_000),
  /** Larger files are refused (TOOL_FILE_TOO_LARGE). */
  maxFileBytes: limit(256 * 1024 * 1024),
});
export type ReadFileLimits = z.infer<typeof ReadFileLimits>;

export const ReadFileParams = Type.Object(
  {
    path: filePathParam(),
    offset: Type.Optional(Type.Integer({ minimum: 1, description: "1-based line to start at (default 1)" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, description: "Number of lines to read" })),
  },
  { additionalProperties: false },
);

/** Pure: one numbered output line, `cat -n` style ("    12\tline"). */
export function numberedLine(n: number, text: string): string {
  return `${String(n).padStart(6)}\t${text}`;
}

export function readFileTool(limits: Partial<ReadFileLimits> = {}): Tool {
  const lim = ReadFileLimits.parse(limits);
  return defineTool({
    name: "read_file",
    description:
      "Read a text file inside the working directory. Output lines are numbered (`    12\\tline`). " +
      `Reads up to ${lim.maxLines} lines; use offset/limit to page through longer files. Binary files are refused.`,
    parameters: ReadFileParams,
    permission: (args, cwd) => pathSubject("read", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        const opened = await root.openFile(args.path);
        if (!opened.ok) return failure(opened.error);
        const { fh, rel, size } = opened.value;
        try {
          if (size > lim.maxFileBytes) {
            return failure({
              code: "TOOL_FILE_TOO_LARGE",
              message: `${rel} is ${formatBytes(size)}, over the ${formatBytes(lim.maxFileBytes)} read_file limit; use grep or run_shell (head, tail, sed -n) on it`,
            });
          }
          if (await isBinaryFile(fh)) {
            return failure({
              code: "TOOL_BINARY_FILE",
              message: `${rel} looks like a binary file (${formatBytes(size)}); read_file only shows text`,
            });
          }
          const offset = args.offset ?? 1;
          const limit = Math.min(args.limit ?? lim.maxLines, lim.maxLines);
          const out: string[] = [];
          let bytes = 0;
          let lineNo = 0;
          let last = offset - 1;
          let more = false;
          let capped = false;
          for await (const line of readLines(fh, lim.maxLineChars)) {
            if (ctx.signal.aborted) return failure({ code: "TOOL_ABORTED", message: "the turn was stopped" });
            lineNo++;
            if (lineNo < offset) continue;
            if (lineNo >= offset + limit) {
              more = true;
              break;
            }
            const text = numberedLine(lineNo, line);
            bytes += Buffer.byteLength(text) + 1;
            if (bytes > lim.maxOutputBytes && out.length > 0) {
              capped = true;
              break;
            }
            out.push(text);
            last = lineNo;
          }
          if (lineNo === 0) return success(`(${rel} is empty)`);
          if (lineNo < offset) {
            return failure({
              code: "TOOL_INVALID_ARGS",
              message: `read_file: /offset ${offset} is past the end of ${rel} (${lineNo} lines)`,
            });
          }
          if (capped)
            out.push(
              `[output capped at ${formatBytes(lim.maxOutputBytes)}; continue with offset=${last + 1}]`,
            );
          else if (more)
            out.push(`[showing lines ${offset}-${last}; the file continues: use offset=${last + 1}]`);
          return success(out.join("\n"));
        } finally {
          await fh.close();
        }
      }),
  });
}
