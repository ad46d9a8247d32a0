/** Helpers shared by the file tools: one containment root per call, failures as coded results. */

import { realpathSync } from "node:fs";
import * as path from "node:path";
import { Type } from "@sinclair/typebox";
import { z } from "zod";
import type { PermissionKind, PermissionSubject, ToolContext, ToolResult } from "./contract";
import { type FsRoot, type FsRootOptions, isInside, openRoot } from "./fs-root";
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

/**
 * The permission subject of a file tool touching `p`: absolute, with the symlinks of its existing
 * part resolved, so policy path rules judge what the tool will really touch (a deny rule on
 * "secrets/**" is not dodged through a symlink "src/s -> ../secrets"). A path inside the cwd is
 * expressed under the cwd as given, which rules and the "always" memory are relative to.
 */
export function pathSubject(kind: PermissionKind, cwd: string, p: string | undefined): PermissionSubject {
  return { kind, paths: [effectivePath(cwd, path.resolve(cwd, p ?? "."))] };
}

/** `abs` with the symlinks of its existing part resolved; lexical when nothing can be resolved. */
export function effectivePath(cwd: string, abs: string): string {
  const real = realpathOfExisting(abs);
  if (real === undefined) return abs;
  const realCwd = realpathOfExisting(cwd);
  if (realCwd !== undefined && isInside(realCwd, real))
    return path.resolve(cwd, path.relative(realCwd, real));
  return real;
}

/** realpath of the nearest existing ancestor of `abs`, joined with the missing segments. */
function realpathOfExisting(abs: string): string | undefined {
  const missing: string[] = [];
  for (let cur = abs; ; ) {
    try {
      return path.join(realpathSync(cur), ...missing);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return undefined;
    }
    const parent = path.dirname(cur);
    if (parent === cur) return undefined;
    missing.unshift(path.basename(cur));
    cur = parent;
  }
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
