import { Type } from "@sinclair/typebox";
import { z } from "zod";
import { replaceFile } from "./atomic-write";
import type { Tool } from "./contract";
import { defineTool } from "./define-tool";
import { failure, filePathParam, limit, pathSubject, success, withRoot } from "./file-tool";
import { formatBytes, looksBinary } from "./text";

export const EditFileLimits = z.object({
  maxFileBytes: limit(10 * 1024 * 1024),
});
export type EditFileLimits = z.infer<typeof EditFileLimits>;

export const EditFileParams = Type.Object(
  {
    path: filePathParam(),
    oldString: Type.String({
      minLength: 1,
      description: "Exact text to replace (include enough context to be unique)",
    }),
    newString: Type.String({ description: "Replacement text" }),
    replaceAll: Type.Optional(
      Type.Boolean({ description: "Replace every occurrence (default: exactly one)" }),
    ),
  },
  { additionalProperties: false },
);

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Pure: `bytes` as text, or undefined when they are not valid UTF-8: decoding with replacement
 * characters and writing back would silently corrupt every other non-UTF-8 byte (Latin-1 files).
 * A byte-order mark is kept.
 */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Pure: the start offsets of the non-overlapping occurrences of `needle` in `text`. */
export function occurrences(text: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) at.push(i);
  return at;
}

/** Pure: 1-based line number of offset `i` in `text`. */
export function lineOf(text: string, i: number): number {
  let n = 1;
  for (let j = text.indexOf("\n"); j !== -1 && j < i; j = text.indexOf("\n", j + 1)) n++;
  return n;
}

export function editFileTool(limits: Partial<EditFileLimits> = {}): Tool {
  const lim = EditFileLimits.parse(limits);
  return defineTool({
    name: "edit_file",
    description:
      "Replace an exact string in a text file inside the working directory. oldString must occur exactly once " +
      "unless replaceAll is true; it must differ from newString.",
    parameters: EditFileParams,
    exclusive: true,
    permission: (args, cwd) => pathSubject("write", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        if (args.oldString === args.newString) {
          return failure({
            code: "TOOL_EDIT_NO_CHANGE",
            message: "edit_file: oldString and newString are identical; nothing to change",
          });
        }
        const opened = await root.openFile(args.path);
        if (!opened.ok) return failure(opened.error);
        const { fh, rel, size } = opened.value;
        try {
          if (size > lim.maxFileBytes) {
            return failure({
              code: "TOOL_FILE_TOO_LARGE",
              message: `${rel} is ${formatBytes(size)}, over the ${formatBytes(lim.maxFileBytes)} edit_file limit`,
            });
          }
          const bytes = await fh.readFile();
          if (looksBinary(bytes)) {
            return failure({
              code: "TOOL_BINARY_FILE",
              message: `${rel} looks like a binary file; edit_file only edits text`,
            });
          }
          const text = decodeUtf8(bytes);
          if (text === undefined) {
            return failure({
              code: "TOOL_BINARY_FILE",
              message: `${rel} is not valid UTF-8 text; edit_file refuses it rather than corrupt its other bytes (use run_shell, e.g. sed)`,
            });
          }
          const at = occurrences(text, args.oldString);
          if (at.length === 0) {
            return failure({
              code: "TOOL_EDIT_NO_MATCH",
              message: `edit_file: oldString was not found in ${rel} (it must match exactly, including whitespace)`,
            });
          }
          if (at.length > 1 && !args.replaceAll) {
            const lines = at.slice(0, 10).map((i) => lineOf(text, i));
            return failure({
              code: "TOOL_EDIT_AMBIGUOUS",
              message: `edit_file: oldString occurs ${at.length} times in ${rel} (lines ${lines.join(", ")}); add surrounding context to make it unique, or pass replaceAll: true`,
            });
          }
          const next = new TextEncoder().encode(text.split(args.oldString).join(args.newString));
          // Replaced atomically (never written in place), and only if it is still the file read.
          const st = await fh.stat();
          const done = await replaceFile(root, args.path, next, { overwrite: true, expect: st });
          if (!done.ok) return failure(done.error);
          const first = lineOf(text, at[0] as number);
          return success(
            `Edited ${rel}: replaced ${at.length} occurrence${at.length === 1 ? "" : "s"} (first at line ${first})`,
          );
        } catch (e) {
          return failure({
            code: "TOOL_IO_ERROR",
            message: `editing ${rel} failed: ${(e as Error).message}`,
          });
        } finally {
          await fh.close();
        }
      }),
  });
}
