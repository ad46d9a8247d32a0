import type { FileHandle } from "node:fs/promises";
import { Type } from "@sinclair/typebox";
import type { Tool } from "./contract";
import { defineTool } from "./define-tool";
import { failure, filePathParam, pathSubject, success, withRoot } from "./file-tool";
import { formatBytes } from "./text";

export const WriteFileParams = Type.Object(
  {
    path: filePathParam(),
    content: Type.String({ description: "The complete new content of the file" }),
    overwrite: Type.Boolean({
      description: "Must be true to replace an existing file; false fails if the file exists",
    }),
  },
  { additionalProperties: false },
);

/** Writes `bytes` at position 0 until all are written. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, done);
    done += bytesWritten;
  }
}

export function writeFileTool(): Tool {
  return defineTool({
    name: "write_file",
    description:
      "Create a file inside the working directory (missing parent folders are created) or, with overwrite: true, " +
      "replace an existing file's whole content. Prefer edit_file for changes to existing files.",
    parameters: WriteFileParams,
    exclusive: true,
    permission: (args, cwd) => pathSubject("write", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        const opened = await root.openWrite(args.path, { overwrite: args.overwrite });
        if (!opened.ok) return failure(opened.error);
        const { fh, rel, created } = opened.value;
        const bytes = new TextEncoder().encode(args.content);
        try {
          await writeAll(fh, bytes);
        } catch (e) {
          return failure({
            code: "TOOL_IO_ERROR",
            message: `writing ${rel} failed: ${(e as Error).message}`,
          });
        } finally {
          await fh.close();
        }
        return success(`${created ? "Created" : "Overwrote"} ${rel} (${formatBytes(bytes.length)})`);
      }),
  });
}
