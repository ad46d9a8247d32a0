/** A bounded directory walk for glob and grep that prunes ignored folders and never follows symlinks. */

import type { Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { pseudoRootOf } from "./fs-root";

/** Folder names skipped unless a call asks to include them. */
export const DEFAULT_IGNORED_DIRS: readonly string[] = ["node_modules", ".git"];

export interface WalkOptions {
  /** Folder names not descended into. */
  ignore: ReadonlySet<string>;
  /** Stop after visiting this many entries (files and folders). */
  maxVisited: number;
  signal?: AbortSignal;
  /** Folders (relative to the base) not descended into, whatever their name. */
  skipDir?: (rel: string) => boolean;
}

export interface WalkEntry {
  /** Relative to the walk's base, with "/" separators. */
  rel: string;
  /** A regular file, or a symlink (never followed; file tools re-check containment on open). */
  kind: "file" | "symlink";
}

export interface WalkStats {
  visited: number;
  /** True when maxVisited stopped the walk early. */
  truncated: boolean;
}

/**
 * Yields the files under `base` (a path readable by readdir, e.g. an opened dir's fd path) in
 * sorted depth-first order. Unreadable folders are skipped.
 */
export async function* walkFiles(
  base: string,
  opts: WalkOptions,
  stats: WalkStats,
): AsyncGenerator<WalkEntry> {
  const stack: string[] = [""];
  while (stack.length > 0) {
    const relDir = stack.pop() as string;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(base, relDir), { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const e of entries) {
      if (opts.signal?.aborted) return;
      if (stats.visited >= opts.maxVisited) {
        stats.truncated = true;
        return;
      }
      stats.visited++;
      const rel = relDir === "" ? e.name : `${relDir}/${e.name}`;
      if (e.isDirectory()) {
        if (!opts.ignore.has(e.name) && !opts.skipDir?.(rel)) subdirs.push(rel);
      } else if (e.isFile()) {
        yield { rel, kind: "file" };
      } else if (e.isSymbolicLink()) {
        yield { rel, kind: "symlink" };
      }
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
  }
}

/**
 * The walk of glob and grep below the folder whose real path is `realBase`: node_modules and .git
 * pruned unless `includeIgnored`, kernel pseudo-filesystems (/proc, /sys) always.
 */
export function searchWalk(
  realBase: string,
  o: { includeIgnored: boolean | undefined; maxVisited: number; signal?: AbortSignal },
): WalkOptions {
  return {
    ignore: new Set(o.includeIgnored ? [] : DEFAULT_IGNORED_DIRS),
    maxVisited: o.maxVisited,
    ...(o.signal ? { signal: o.signal } : {}),
    skipDir: (rel) => pseudoRootOf(path.join(realBase, rel)) !== undefined,
  };
}

/** Pure: `rel` (relative to the search base) as a path relative to the working directory. */
export function underBase(baseRel: string, rel: string): string {
  return baseRel === "." ? rel : `${baseRel}/${rel}`;
}
