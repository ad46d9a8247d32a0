/** A bounded directory walk for glob and grep that prunes ignored folders and never follows symlinks. */

import { constants as C, type Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { type FsStrategy, pseudoRootOf } from "./fs-root";

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

/** The folder a walk starts in: an opened directory of an FsRoot. */
export interface WalkBase {
  /** A readdir-able path naming the opened folder (its fd path under the "proc" strategy). */
  path: string;
  /** Its real path (inside the root). */
  real: string;
  strategy: FsStrategy;
}

/** A folder being walked; its fd stays open while subfolders still have to be opened from it. */
interface Node {
  path: string;
  fh?: fs.FileHandle;
  /** Subfolders still to be opened through this folder. */
  pending: number;
}

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/**
 * Yields the files under `base` in sorted depth-first order. Unreadable folders are skipped.
 *
 * Every subfolder is opened from its parent's fd with O_NOFOLLOW|O_DIRECTORY ("proc" strategy) and
 * listed through its own fd, so a folder swapped for a symlink between being listed and being
 * descended into fails to open instead of listing what the symlink points at. The "portable" strategy
 * lists by path and re-checks that the folder's real path and inode did not change around the listing.
 * Open fds: one per folder on the current path that still has unopened subfolders.
 */
export async function* walkFiles(
  base: WalkBase,
  opts: WalkOptions,
  stats: WalkStats,
): AsyncGenerator<WalkEntry> {
  const open = new Set<Node>();
  const release = async (node: Node) => {
    if (--node.pending > 0 || !node.fh) return;
    open.delete(node);
    await node.fh.close();
  };
  const stack: { rel: string; parent?: Node }[] = [{ rel: "" }];
  try {
    while (stack.length > 0) {
      const { rel: relDir, parent } = stack.pop() as { rel: string; parent?: Node };
      let node: Node = { path: base.path, pending: 0 };
      let entries: Dirent[] | undefined;
      if (base.strategy === "proc") {
        if (parent) {
          const fh = await fs
            .open(`${parent.path}/${path.posix.basename(relDir)}`, DIR_FLAGS)
            .catch(() => undefined);
          await release(parent);
          if (!fh) continue; // swapped for a symlink, removed, or unreadable
          node = { path: `/proc/self/fd/${fh.fd}`, fh, pending: 0 };
          open.add(node);
        }
        entries = await fs.readdir(node.path, { withFileTypes: true }).catch(() => undefined);
      } else {
        entries = await listChecked(path.join(base.real, relDir));
      }
      if (!entries) {
        open.delete(node);
        await node.fh?.close();
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
      node.pending = subdirs.length + 1;
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push({ rel: subdirs[i] as string, parent: node });
      await release(node);
    }
  } finally {
    for (const node of open) await node.fh?.close().catch(() => {});
  }
}

/** "portable": lists `dir` only if it is a real folder (no symlink on the way) before and after. */
async function listChecked(dir: string): Promise<Dirent[] | undefined> {
  const same = async (ino?: number) => {
    const real = await fs.realpath(dir).catch(() => undefined);
    const st = await fs.lstat(dir).catch(() => undefined);
    return real === dir && st?.isDirectory() && (ino === undefined || st.ino === ino) ? st.ino : undefined;
  };
  const ino = await same();
  if (ino === undefined) return undefined;
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  return entries && (await same(ino)) !== undefined ? entries : undefined;
}

/**
 * The walk of glob and grep below the folder whose real path is `realBase`: node_modules and .git
 * pruned unless `includeIgnored`, kernel pseudo-filesystems (/proc, /sys) always.
 */
export function searchWalk(
  realBase: string,
  o: {
    includeIgnored: boolean | undefined;
    maxVisited: number;
    signal?: AbortSignal;
    /** Further folders (relative to the base) not descended into, e.g. those a deny rule covers. */
    prune?: (rel: string) => boolean;
  },
): WalkOptions {
  return {
    ignore: new Set(o.includeIgnored ? [] : DEFAULT_IGNORED_DIRS),
    maxVisited: o.maxVisited,
    ...(o.signal ? { signal: o.signal } : {}),
    skipDir: (rel) => pseudoRootOf(path.join(realBase, rel)) !== undefined || (o.prune?.(rel) ?? false),
  };
}

/** Pure: `rel` (relative to the search base) as a path relative to the working directory. */
export function underBase(baseRel: string, rel: string): string {
  return baseRel === "." ? rel : `${baseRel}/${rel}`;
}
