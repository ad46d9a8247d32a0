import { Type } from "@sinclair/typebox";
import { replaceFile } from "./atomic-write";
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

export function writeFileTool(): Tool {
  return defineTool({
    name: "write_file",
    description:
      "Create a file inside the working directory (missing parent folders are created) or, with overwrite: true, " +
      "replace an existing file's whole content (atomically: the file is never left half-written). " +
      "Prefer edit_file for changes to existing files.",
    parameters: WriteFileParams,
    exclusive: true,
    permission: (args, cwd) => pathSubject("write", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        const bytes = new TextEncoder().encode(args.content);
        const done = await replaceFile(root, args.path, bytes, { overwrite: args.overwrite });
        if (!done.ok) return failure(done.error);
        const { rel, created } = done.value;
        return success(`${created ? "Created" : "Overwrote"} ${rel} (${formatBytes(bytes.length)})`);
      }),
  });
}
