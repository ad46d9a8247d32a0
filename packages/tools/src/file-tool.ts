/** Helpers shared by the file tools: one containment root per call, failures as coded results. */

import * as path from "node:path";
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { PermissionKind, PermissionSubject, ToolContext, ToolResult } from "./contract";
import { type FsRoot, type FsRootOptions, openRoot } from "./fs-root";
import { failure } from "./tool-result";

export { failure, success } from "./tool-result";

/** Opens ctx.cwd as the containment root and runs `fn` in it; a bad cwd is a TOOL_CWD_INVALID result. */
export async function withRoot(
  ctx: ToolContext,
  fn: (root: FsRoot) => Promise<ToolResult>,
  opts?: FsRootOptions,
): Promise<ToolResult> {
  if (ctx.signal.aborted) return failure({ code: "TOOL_ABORTED", message: "the turn was stopped" });
  const root = await openRoot(ctx.cwd, opts);
  return root.ok ? fn(root.value) : failure(root.error);
}

/** Pure: the permission subject of a file tool touching `p` (resolved lexically against cwd). */
export function pathSubject(kind: PermissionKind, cwd: string, p: string | undefined): PermissionSubject {
  return { kind, paths: [path.resolve(cwd, p ?? ".")] };
}

/** A positive integer limit with a default, for the tools' zod limit schemas. */
export const limit = (byDefault: number) => z.number().int().positive().default(byDefault);

/** The `path` parameter of the tools that take one file. */
export const filePathParam = () =>
  Type.String({ minLength: 1, description: "File path, relative to the working directory or absolute" });

/** The optional folder parameter of list_dir, glob and grep. */
export const folderParam = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

export const includeIgnoredParam = () =>
  Type.Optional(Type.Boolean({ description: "Also search node_modules and .git (default false)" }));
