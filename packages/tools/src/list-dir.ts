import * as fs from "node:fs/promises";
import * as path from "node:path";
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool } from "./contract";
import { defineTool } from "./define-tool";
import { failure, folderParam, limit, pathSubject, success, withRoot } from "./file-tool";

export const ListDirLimits = z.object({
  maxEntries: limit(1000),
});
export type ListDirLimits = z.infer<typeof ListDirLimits>;

export const ListDirParams = Type.Object(
  {
    path: folderParam("Folder to list (default: the working directory)"),
  },
  { additionalProperties: false },
);

export function listDirTool(limits: Partial<ListDirLimits> = {}): Tool {
  const lim = ListDirLimits.parse(limits);
  return defineTool({
    name: "list_dir",
    description:
      "List one folder inside the working directory: folders end with `/`, symlinks show `-> target`. " +
      "Not recursive; use glob to find files by pattern.",
    parameters: ListDirParams,
    permission: (args, cwd) => pathSubject("read", cwd, args.path),
    execute: (args, ctx) =>
      withRoot(ctx, async (root) => {
        const dir = await root.openDir(args.path ?? ".");
        if (!dir.ok) return failure(dir.error);
        try {
          const entries = await fs.readdir(dir.value.path, { withFileTypes: true });
          entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          const lines: string[] = [];
          for (const e of entries.slice(0, lim.maxEntries)) {
            if (e.isDirectory()) lines.push(`${e.name}/`);
            else if (e.isSymbolicLink()) {
              const target = await fs.readlink(path.join(dir.value.path, e.name)).catch(() => "?");
              lines.push(`${e.name} -> ${target}`);
            } else lines.push(e.name);
          }
          if (entries.length > lim.maxEntries) {
            lines.push(`[${entries.length - lim.maxEntries} more entries not shown]`);
          }
          const header = `${dir.value.rel}/ (${entries.length} entries)`;
          return success(entries.length === 0 ? `${dir.value.rel}/ is empty` : [header, ...lines].join("\n"));
        } catch (e) {
          return failure({ code: "TOOL_IO_ERROR", message: `cannot list ${dir.value.rel}: ${String(e)}` });
        } finally {
          await dir.value.close();
        }
      }),
  });
}
