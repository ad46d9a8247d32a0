import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import {
  type DaemonInfo,
  isPidAlive,
  isSameProcessAlive,
  processKey,
  readDaemonInfo,
} from "@dispatch/discovery";

export { type DaemonInfo, isPidAlive, readDaemonInfo };

/**
 * One daemon per data folder. `daemon.lock` holds the owner's pid and process key (see `processKey`) and
 * is created atomically (a complete temp file hard-linked into place, which fails when the lock exists).
 * A lock or `daemon.json` naming a dead pid, or a pid that now belongs to another process, is stale and
 * replaced. `daemon.json` is written atomically (temp + rename), mode 0600.
 */

/** Is `pid` alive and (when `key` is known) still the process the key was taken of? */
export type LivenessCheck = (pid: number, key: string | undefined) => boolean;

/**
 * Pure: whether a /proc/<pid>/cmdline (NUL-separated) could be a Dispatch daemon: `dispatch …` (the
 * CLI's `serve`, a compiled binary) or a runtime running `…/apps/daemon/…` or `…/apps/cli/…`.
 */
export function cmdlineLooksLikeDaemon(cmdline: string): boolean {
  return /dispatch|apps[/\\](daemon|cli)[/\\]/i.test(cmdline);
}

/**
 * The default liveness check. A holder recorded with a process key must still be that process. One
 * recorded without a key (an older file, or one written by hand) counts only while its pid's command
 * line looks like a daemon: a pid reused by an unrelated process must not block startup until the
 * file is deleted by hand. Where /proc is missing, a live pid counts.
 */
function isDaemonAlive(pid: number, key: string | undefined): boolean {
  if (key !== undefined || !isPidAlive(pid)) return isSameProcessAlive(pid, key);
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch (e) {
    // No /proc (not Linux): trust the pid. Another user's process (EACCES) is not our daemon.
    return (e as NodeJS.ErrnoException).code === "ENOENT" && !existsSync("/proc/self");
  }
  return cmdlineLooksLikeDaemon(cmdline);
}

/** Writes `daemon.json` atomically with mode 0600. */
export function writeDaemonInfo(path: string, info: DaemonInfo): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(info, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Removes `daemon.json` when it is ours (a newer daemon's file is left alone). */
export function removeDaemonInfo(path: string, pid: number): void {
  const info = readDaemonInfo(path);
  if (info === undefined || info.pid === pid) rmSync(path, { force: true });
}

export interface LockPaths {
  lock: string;
  daemonJson: string;
}

export type LockResult =
  | { ok: true; release(): void; replacedStale?: number }
  | { ok: false; pid: number; httpPort?: number; wsPort?: number };

/** Data folders locked by this process; a lock naming our own pid is only ours if listed here. */
const heldHere = new Set<string>();

/** The lock's holder: its pid (first line) and process key (second line, absent in older locks). */
function readLock(path: string): { pid?: number; key?: string } {
  try {
    const [first, second] = readFileSync(path, "utf8").split("\n");
    const n = Number.parseInt(first?.trim() ?? "", 10);
    const key = second?.trim();
    return { ...(Number.isInteger(n) && n > 0 ? { pid: n } : {}), ...(key ? { key } : {}) };
  } catch {
    return {};
  }
}

function ownerAlive(
  holder: { pid?: number; key?: string },
  lockPath: string,
  isAlive: LivenessCheck,
): boolean {
  if (holder.pid === undefined) return false;
  if (holder.pid === process.pid) return heldHere.has(lockPath);
  return isAlive(holder.pid, holder.key);
}

function refusal(pid: number, paths: LockPaths): LockResult {
  const info = readDaemonInfo(paths.daemonJson);
  if (info && info.pid === pid) return { ok: false, pid, httpPort: info.httpPort, wsPort: info.wsPort };
  return { ok: false, pid };
}

/** Takes the single-instance lock for a data folder (which must exist), replacing stale ones. */
export function acquireInstanceLock(paths: LockPaths, isAlive: LivenessCheck = isDaemonAlive): LockResult {
  mkdirSync(dirname(paths.lock), { recursive: true });
  let replacedStale: number | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = `${paths.lock}.${process.pid}.${attempt}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    writeSync(fd, `${process.pid}\n${processKey(process.pid) ?? ""}\n`);
    closeSync(fd);
    let created = false;
    try {
      linkSync(tmp, paths.lock);
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        rmSync(tmp, { force: true });
        throw e;
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    if (created) {
      // A daemon.json naming another live process (its lock was deleted by hand) still counts.
      const info = readDaemonInfo(paths.daemonJson);
      if (info && info.pid !== process.pid && isAlive(info.pid, info.processKey)) {
        rmSync(paths.lock, { force: true });
        return refusal(info.pid, paths);
      }
      if (info) replacedStale ??= info.pid;
      heldHere.add(paths.lock);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        heldHere.delete(paths.lock);
        if (readLock(paths.lock).pid === process.pid) rmSync(paths.lock, { force: true });
      };
      return replacedStale === undefined ? { ok: true, release } : { ok: true, release, replacedStale };
    }
    const holder = readLock(paths.lock);
    if (holder.pid !== undefined && ownerAlive(holder, paths.lock, isAlive))
      return refusal(holder.pid, paths);
    replacedStale = holder.pid ?? replacedStale;
    rmSync(paths.lock, { force: true });
  }
  throw new Error(`could not take ${paths.lock}: it keeps reappearing (another daemon starting?)`);
}
