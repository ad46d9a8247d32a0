/**
 * Path containment for the file tools: every path is resolved against the conversation's cwd, its
 * symlinks resolved (realpath), and refused when the result lies outside the cwd. The resolved path is
 * then opened so that nothing swapped in between the check and the use can lead outside:
 *
 * - "proc" (Linux): walk from a verified fd of the cwd, one segment at a time, opening each through
 *   `/proc/self/fd/<dirfd>/<segment>` with O_NOFOLLOW, like openat(2). A symlink swapped into any
 *   segment after the check fails the open (ELOOP/ENOTDIR) instead of being followed.
 * - "portable" (elsewhere): open with O_NOFOLLOW, then re-verify that the path still resolves to the
 *   opened inode inside the cwd before reading or changing anything.
 */

import { constants as C, existsSync, type Stats } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { Result, ToolErrorCode } from "./contract";

export interface Failure {
  code: ToolErrorCode;
  message: string;
}
export type Outcome<T> = Result<T, Failure>;

export type FsStrategy = "proc" | "portable";

export interface FsRootOptions {
  /** Default: "proc" where /proc/self/fd exists, else "portable". */
  strategy?: FsStrategy;
  /** Test seam: runs between the containment check and the open (to swap things in). */
  afterCheck?: (real: string) => Promise<void>;
}

export interface ResolvedPath {
  /** Absolute, symlink-free, inside the root. */
  real: string;
  /** Relative to the root ("." for the root itself), for messages and listings. */
  rel: string;
  /** lstat of `real`; undefined when nothing exists there yet. */
  stat: Stats | undefined;
}

export interface OpenedFile extends ResolvedPath {
  fh: fs.FileHandle;
  /** fstat of the opened file. */
  size: number;
}

export interface OpenedDir extends ResolvedPath {
  /** A path that names the opened directory itself (its fd path under the "proc" strategy). */
  path: string;
  strategy: FsStrategy;
  close(): Promise<void>;
}

export interface OpenedParent extends ResolvedPath {
  /** A path naming the opened parent folder (its fd path under "proc"); `${dir}/${name}` is the target. */
  dir: string;
  /** The target's name in `dir`. */
  name: string;
  /** "portable": confirms `dir` still is the real parent inside the root (always ok under "proc"). */
  verify(): Promise<Outcome<void>>;
  /** fsyncs the folder, making a rename in it durable. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

const procAvailable = existsSync("/proc/self/fd");

/**
 * Kernel pseudo-filesystems (Linux): their "files" are process memory and environment
 * (/proc/self/environ holds the daemon's secrets, /proc/self/mem its memory) and kernel knobs, so
 * no file tool touches them, even when the cwd is "/".
 */
const PSEUDO_ROOTS = process.platform === "linux" ? ["/proc", "/sys"] : [];

/** Pure: the pseudo-filesystem root `real` lies in, if any. */
export function pseudoRootOf(real: string): string | undefined {
  return PSEUDO_ROOTS.find((root) => isInside(root, real));
}

/** Pure: what kind of non-regular file `st` is, for messages. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isDirectory()) return "a directory";
  return "not a regular file";
}

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (code: ToolErrorCode, message: string): { ok: false; error: Failure } => ({
  ok: false,
  error: { code, message },
});

/** Pure: `p` equals `root` or lies below it. */
export function isInside(root: string, p: string): boolean {
  if (p === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return p.startsWith(prefix);
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e
    ? String((e as { code: unknown }).code)
    : undefined;
}

function ioFailure(e: unknown, what: string): { ok: false; error: Failure } {
  const code = errno(e);
  if (code === "ENOENT") return fail("TOOL_PATH_NOT_FOUND", `${what} does not exist`);
  if (code === "ENOTDIR" || code === "EISDIR")
    return fail("TOOL_PATH_WRONG_TYPE", `${what}: a file is in the way of a directory or the reverse`);
  if (code === "ELOOP")
    return fail("TOOL_PATH_OUTSIDE_CWD", `${what} is (or became) a symlink; refusing to follow it`);
  return fail("TOOL_IO_ERROR", `${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Flags of every file open: never follow a final symlink (swapped in after the check), never block
 * (a FIFO swapped in), never acquire a controlling terminal (a tty swapped in). The fstat after the
 * open refuses anything that is not a regular file.
 */
const OPEN_GUARDS = C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY;

/** Opens the cwd as a containment root. The cwd must be an existing directory. */
export async function openRoot(cwd: string, opts: FsRootOptions = {}): Promise<Outcome<FsRoot>> {
  if (!path.isAbsolute(cwd))
    return fail("TOOL_CWD_INVALID", `the working directory "${cwd}" is not absolute`);
  let real: string;
  try {
    real = await fs.realpath(cwd);
    if (!(await fs.stat(real)).isDirectory())
      return fail("TOOL_CWD_INVALID", `the working directory "${cwd}" is not a directory`);
  } catch {
    return fail("TOOL_CWD_INVALID", `the working directory "${cwd}" does not exist`);
  }
  const strategy = opts.strategy ?? (procAvailable ? "proc" : "portable");
  return ok(new FsRoot(cwd, real, strategy, opts.afterCheck));
}

export class FsRoot {
  constructor(
    /** The cwd as given (user paths are resolved against it). */
    readonly cwd: string,
    /** The cwd's realpath: the containment boundary. */
    readonly dir: string,
    readonly strategy: FsStrategy,
    private readonly afterCheck?: (real: string) => Promise<void>,
  ) {}

  /** Pure: how a real path inside the root is shown (relative to it). */
  display(real: string): string {
    return path.relative(this.dir, real) || ".";
  }

  /** Resolves `p` (relative to the cwd, or absolute) through its symlinks and checks containment. */
  async resolve(p: string): Promise<Outcome<ResolvedPath>> {
    const abs = path.resolve(this.cwd, p);
    let real: string;
    try {
      real = await fs.realpath(abs);
    } catch (e) {
      if (errno(e) !== "ENOENT") return ioFailure(e, `"${p}"`);
      const link = await fs.lstat(abs).catch(() => undefined);
      if (link?.isSymbolicLink())
        return fail("TOOL_PATH_NOT_FOUND", `"${p}" is a symlink whose target does not exist`);
      const base = await this.nearestExisting(abs);
      if (!base.ok) return fail(base.error.code, `"${p}": ${base.error.message}`);
      real = base.value;
    }
    if (!isInside(this.dir, real)) {
      return fail(
        "TOOL_PATH_OUTSIDE_CWD",
        `"${p}" resolves to ${real}, which is outside the working directory ${this.dir}`,
      );
    }
    const pseudo = pseudoRootOf(real);
    if (pseudo !== undefined) {
      return fail(
        "TOOL_PATH_WRONG_TYPE",
        `"${p}" resolves to ${real}, on the kernel pseudo-filesystem ${pseudo}; file tools do not touch it`,
      );
    }
    const stat = await fs.lstat(real).catch(() => undefined);
    return ok({ real, rel: this.display(real), stat });
  }

  /** realpath of the nearest existing ancestor of `abs`, joined with the missing segments. */
  private async nearestExisting(abs: string): Promise<Outcome<string>> {
    const missing: string[] = [];
    let cur = abs;
    for (;;) {
      missing.unshift(path.basename(cur));
      const parent = path.dirname(cur);
      if (parent === cur) return fail("TOOL_PATH_NOT_FOUND", "no existing ancestor");
      cur = parent;
      try {
        const base = await fs.realpath(cur);
        if (!(await fs.stat(base)).isDirectory())
          return fail("TOOL_PATH_WRONG_TYPE", `${base} is not a directory`);
        return ok(path.join(base, ...missing));
      } catch (e) {
        if (errno(e) !== "ENOENT") return ioFailure(e, cur);
      }
    }
  }

  /** Opens an existing regular file for reading (files are replaced with atomic-write.ts, never in place). */
  async openFile(p: string): Promise<Outcome<OpenedFile>> {
    const r = await this.resolve(p);
    if (!r.ok) return r;
    if (!r.value.stat) return fail("TOOL_PATH_NOT_FOUND", `"${p}" does not exist`);
    if (r.value.stat.isDirectory())
      return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is a directory, not a file (use list_dir)`);
    // Devices, FIFOs and sockets are refused before the open: opening one can block or act.
    if (!r.value.stat.isFile())
      return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is ${kindOf(r.value.stat)}, not a regular file`);
    return this.openResolved(p, r.value, C.O_RDONLY | OPEN_GUARDS);
  }

  /**
   * Opens the folder that holds `p` for replacing `p` in it (creating missing folders when `p` did not
   * exist at the check). The "proc" strategy returns the fd path of a directory reached segment by
   * segment with O_NOFOLLOW, so a rename through it lands in that verified directory even if a parent
   * is swapped for a symlink afterwards. "portable" returns the real path, re-verified by `verify()`.
   */
  async openParent(p: string, resolved: ResolvedPath): Promise<Outcome<OpenedParent>> {
    const parentReal = path.dirname(resolved.real);
    const name = path.basename(resolved.real);
    await this.afterCheck?.(resolved.real);
    if (this.strategy === "portable") {
      try {
        if (resolved.stat === undefined) await fs.mkdir(parentReal, { recursive: true });
      } catch (e) {
        return ioFailure(e, `"${p}"`);
      }
      const verify = async (): Promise<Outcome<void>> => {
        const again = await fs.realpath(parentReal).catch(() => undefined);
        return again === parentReal && isInside(this.dir, again)
          ? ok(undefined)
          : fail("TOOL_PATH_OUTSIDE_CWD", `"${p}" changed while being written; refusing it`);
      };
      const checked = await verify();
      if (!checked.ok) return checked;
      const sync = async () => {
        const dh = await fs.open(parentReal, C.O_RDONLY | C.O_DIRECTORY);
        await dh.sync().finally(() => dh.close());
      };
      return ok({ ...resolved, dir: parentReal, name, verify, sync, close: async () => {} });
    }
    const dir = await this.walk(p, parentReal, "dir", resolved.stat === undefined);
    if (!dir.ok) return dir;
    const fh = dir.value;
    return ok({
      ...resolved,
      dir: `/proc/self/fd/${fh.fd}`,
      name,
      verify: async () => ok(undefined),
      sync: () => fh.sync(),
      close: () => fh.close(),
    });
  }

  /** Opens an existing directory; use `path` for readdir/scans, then `close()`. */
  async openDir(p: string): Promise<Outcome<OpenedDir>> {
    const r = await this.resolve(p);
    if (!r.ok) return r;
    if (!r.value.stat) return fail("TOOL_PATH_NOT_FOUND", `"${p}" does not exist`);
    if (!r.value.stat.isDirectory()) return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is not a directory`);
    await this.afterCheck?.(r.value.real);
    if (this.strategy === "portable") {
      const again = await fs.realpath(r.value.real).catch(() => undefined);
      if (again !== r.value.real) return fail("TOOL_PATH_OUTSIDE_CWD", `"${p}" changed while being opened`);
      return ok({ ...r.value, path: r.value.real, strategy: this.strategy, close: async () => {} });
    }
    const dir = await this.walk(p, r.value.real, "dir", false);
    if (!dir.ok) return dir;
    const fh = dir.value;
    return ok({
      ...r.value,
      path: `/proc/self/fd/${fh.fd}`,
      strategy: this.strategy,
      close: () => fh.close(),
    });
  }

  private async openResolved(p: string, resolved: ResolvedPath, flags: number): Promise<Outcome<OpenedFile>> {
    await this.afterCheck?.(resolved.real);
    let fh: fs.FileHandle;
    if (this.strategy === "proc") {
      const opened = await this.walk(p, resolved.real, flags, false);
      if (!opened.ok) return opened;
      fh = opened.value;
    } else {
      try {
        fh = await fs.open(resolved.real, flags);
      } catch (e) {
        return ioFailure(e, `"${p}"`);
      }
    }
    const verified = await this.verifyOpened(p, resolved.real, fh).catch((e) => ioFailure(e, `"${p}"`));
    if (!verified.ok) {
      await fh.close();
      return verified;
    }
    return ok({ ...resolved, fh, size: verified.value.size });
  }

  /** Confirms the opened fd is a regular file at `real` (inside the root). */
  private async verifyOpened(p: string, real: string, fh: fs.FileHandle): Promise<Outcome<Stats>> {
    const st = await fh.stat();
    if (!st.isFile()) return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is ${kindOf(st)}, not a regular file`);
    const now =
      this.strategy === "proc"
        ? await fs.readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined)
        : await fs.realpath(real).catch(() => undefined);
    const same =
      this.strategy === "proc"
        ? now === real
        : now === real &&
          (await fs.stat(real).then(
            (s) => s.ino === st.ino && s.dev === st.dev,
            () => false,
          ));
    if (!same || now === undefined || !isInside(this.dir, now)) {
      return fail("TOOL_PATH_OUTSIDE_CWD", `"${p}" changed while being opened; refusing to use it`);
    }
    return ok(st);
  }

  /**
   * "proc" strategy: opens `real` by walking from a verified fd of the root, every segment with
   * O_NOFOLLOW relative to the previous directory's fd. `final` = "dir" opens the last segment as a
   * directory; a number = the open(2) flags of the final file. `create` makes missing directories.
   */
  private async walk(
    p: string,
    real: string,
    final: "dir" | number,
    create: boolean,
  ): Promise<Outcome<fs.FileHandle>> {
    const dirFlags = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
    const segments = real === this.dir ? [] : path.relative(this.dir, real).split(path.sep);
    let dir: fs.FileHandle;
    try {
      dir = await fs.open(this.dir, C.O_RDONLY | C.O_DIRECTORY);
    } catch (e) {
      return ioFailure(e, "the working directory");
    }
    let handedOver = false;
    try {
      if ((await fs.readlink(`/proc/self/fd/${dir.fd}`)) !== this.dir) {
        return fail("TOOL_CWD_INVALID", `the working directory ${this.dir} moved while being opened`);
      }
      const last = final === "dir" ? undefined : segments.pop();
      for (const seg of segments) {
        const next = `/proc/self/fd/${dir.fd}/${seg}`;
        let child: fs.FileHandle;
        try {
          child = await fs.open(next, dirFlags);
        } catch (e) {
          // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR (or ELOOP): it was swapped in.
          if ((await fs.lstat(next).catch(() => undefined))?.isSymbolicLink()) {
            return fail("TOOL_PATH_OUTSIDE_CWD", `"${p}" changed to pass through a symlink; refusing it`);
          }
          if (!(create && errno(e) === "ENOENT")) return ioFailure(e, `"${p}" (at "${seg}")`);
          await fs.mkdir(next).catch((err) => {
            if (errno(err) !== "EEXIST") throw err;
          });
          child = await fs.open(next, dirFlags);
        }
        await dir.close();
        dir = child;
      }
      if (last === undefined) {
        handedOver = true;
        return ok(dir);
      }
      try {
        return ok(await fs.open(`/proc/self/fd/${dir.fd}/${last}`, final as number, 0o666));
      } catch (e) {
        return errno(e) === "EEXIST"
          ? fail("TOOL_FILE_EXISTS", `"${p}" already exists`)
          : ioFailure(e, `"${p}"`);
      }
    } catch (e) {
      return ioFailure(e, `"${p}"`);
    } finally {
      if (!handedOver) await dir.close();
    }
  }
}
