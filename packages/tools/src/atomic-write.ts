/**
 * Atomic file replacement for write_file and edit_file. The new content goes to a private temp file in
 * the target's folder (O_CREAT|O_EXCL|O_NOFOLLOW, random name, mode 0600 until it is complete), is
 * fsynced, gets the old file's mode (and owner where permitted), and is renamed over the target; then
 * the folder is fsynced. A crash, a full disk or an I/O error at any point leaves either the whole old
 * file or the whole new one, never a truncated mix; on a reported failure the temp file is removed.
 *
 * Containment: the folder is opened by FsRoot.openParent (segment by segment with O_NOFOLLOW under the
 * "proc" strategy), and the temp file and the rename are addressed through that folder's fd
 * (`/proc/self/fd/<dirfd>/<name>`), so a parent swapped for a symlink after the check does not redirect
 * them: the kernel resolves the fd to the verified directory itself. rename(2) never follows a final
 * symlink: one swapped in at the target's name is replaced, not written through.
 */

import { randomBytes } from "node:crypto";
import { constants as C, type Stats } from "node:fs";
import * as fs from "node:fs/promises";
import { type FsRoot, fail, type OpenedParent, type Outcome, ok } from "./fs-root";

export interface ReplaceOptions {
  /** false: fail with TOOL_FILE_EXISTS when the target exists (checked atomically by link(2)). */
  overwrite: boolean;
  /** edit_file: the (dev, ino) of the file that was read; a different file at the target is refused. */
  expect?: Pick<Stats, "dev" | "ino">;
}

export interface Replaced {
  rel: string;
  /** True when no file existed at the target. */
  created: boolean;
}

/** Temp files are named like this, so a leftover of a killed daemon is recognisable. */
export const TEMP_PREFIX = ".dispatch-write-";

const errno = (e: unknown) => (e as { code?: string } | null)?.code;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Writes every byte of `bytes` at position 0. */
async function writeAll(fh: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, done);
    done += bytesWritten;
  }
}

/** Replaces (or creates) the file `p` inside `root` with `bytes`, atomically. */
export async function replaceFile(
  root: FsRoot,
  p: string,
  bytes: Uint8Array,
  opts: ReplaceOptions,
): Promise<Outcome<Replaced>> {
  const r = await root.resolve(p);
  if (!r.ok) return r;
  const st = r.value.stat;
  if (st?.isDirectory()) return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is a directory`);
  if (st && !st.isFile()) return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is not a regular file`);
  if (st && !opts.overwrite)
    return fail("TOOL_FILE_EXISTS", `"${p}" already exists; pass overwrite: true to replace it`);
  const parent = await root.openParent(p, r.value);
  if (!parent.ok) return parent;
  try {
    return await replaceIn(parent.value, p, bytes, opts);
  } finally {
    await parent.value.close();
  }
}

async function replaceIn(
  parent: OpenedParent,
  p: string,
  bytes: Uint8Array,
  opts: ReplaceOptions,
): Promise<Outcome<Replaced>> {
  const target = `${parent.dir}/${parent.name}`;
  // What is at the target now, through the verified folder (lstat: a symlink is not followed).
  const now = await fs.lstat(target).catch((e) => (errno(e) === "ENOENT" ? undefined : e));
  if (now instanceof Error) return fail("TOOL_IO_ERROR", `"${p}": ${message(now)}`);
  if (now?.isSymbolicLink())
    return fail("TOOL_PATH_OUTSIDE_CWD", `"${p}" became a symlink while being written; refusing it`);
  if (now && !now.isFile()) return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is not a regular file`);
  if (now && !opts.overwrite) return fail("TOOL_FILE_EXISTS", `"${p}" already exists`);
  if (opts.expect && (!now || now.ino !== opts.expect.ino || now.dev !== opts.expect.dev))
    return fail("TOOL_IO_ERROR", `"${p}" was replaced by another file while being edited; read it again`);

  const tmp = `${parent.dir}/${TEMP_PREFIX}${randomBytes(9).toString("hex")}.tmp`;
  let fh: fs.FileHandle;
  try {
    // A new file gets 0666 minus the umask, as open(2) would; a replacement stays private until chmod.
    fh = await fs.open(
      tmp,
      C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NOCTTY,
      now ? 0o600 : 0o666,
    );
  } catch (e) {
    return fail(
      "TOOL_IO_ERROR",
      `"${p}": cannot create a temporary file next to it (${message(e)}); files are replaced atomically, which needs write access to the folder`,
    );
  }
  let renamed = false;
  try {
    await writeAll(fh, bytes);
    if (now) {
      // Owner first: chown clears set-id bits, which the chmod then restores.
      const mine = await fh.stat();
      if (mine.uid !== now.uid || mine.gid !== now.gid)
        await fh.chown(now.uid, now.gid).catch(() => fh.chown(-1, now.gid).catch(() => {}));
      await fh.chmod(now.mode & 0o7777);
    }
    await fh.sync();
    await fh.close();
    const still = await parent.verify();
    if (!still.ok) return still;
    if (opts.overwrite) {
      await fs.rename(tmp, target);
    } else {
      await linkNoReplace(tmp, target);
    }
    renamed = true;
    // Best effort: the rename is done; a folder that cannot be fsynced (some filesystems) is no failure.
    await parent.sync().catch(() => {});
    return ok({ rel: parent.rel, created: now === undefined });
  } catch (e) {
    if (errno(e) === "EEXIST") return fail("TOOL_FILE_EXISTS", `"${p}" already exists`);
    if (errno(e) === "EISDIR") return fail("TOOL_PATH_WRONG_TYPE", `"${p}" is a directory`);
    const kept = now ? "the old content is intact" : "no file was created";
    return fail("TOOL_IO_ERROR", `writing "${p}" failed, ${kept}: ${message(e)}`);
  } finally {
    await fh.close().catch(() => {});
    if (!renamed) await fs.unlink(tmp).catch(() => {});
  }
}

/**
 * Moves `tmp` to `target` unless something exists there: link(2) fails with EEXIST instead of replacing
 * a file created since the check. Filesystems without hard links fall back to a checked rename.
 */
async function linkNoReplace(tmp: string, target: string): Promise<void> {
  try {
    await fs.link(tmp, target);
  } catch (e) {
    if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"].includes(errno(e) ?? "")) throw e;
    if (
      await fs.lstat(target).then(
        () => true,
        () => false,
      )
    )
      throw Object.assign(new Error("exists"), { code: "EEXIST" });
    await fs.rename(tmp, target);
    return;
  }
  await fs.unlink(tmp).catch(() => {});
}
