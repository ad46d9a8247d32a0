import type { Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { Tool } from "./contract";
import { defineTool } from "./define-tool";
import { failure, folderParam, limit, pathSubject, success, withRoot } from "./file-tool";
import { SearchFilter } from "./search-filter";
import { underBase } from "./walk";

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
          const filter = new SearchFilter(root, ctx.searchAccess);
          const entries: Dirent[] = [];
          for (const e of await fs.readdir(dir.value.path, { withFileTypes: true })) {
            const rel = underBase(dir.value.rel, e.name);
            if ((await filter.entry(rel, e.isSymbolicLink())) !== "hide") entries.push(e);
          }
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
          lines.push(...filter.notes());
          const header = `${dir.value.rel}/ (${entries.length} entries)`;
          if (entries.length === 0)
            return success([`${dir.value.rel}/ is empty`, ...filter.notes()].join("\n"));
          return success([header, ...lines].join("\n"));
        } catch (e) {
          return failure({ code: "TOOL_IO_ERROR", message: `cannot list ${dir.value.rel}: ${String(e)}` });
        } finally {
          await dir.value.close();
        }
      }),
  });
}
