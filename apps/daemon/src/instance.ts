import {
  chmodSync,
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";

/**
 * One daemon per data folder. `daemon.lock` holds the owner's pid and is created atomically (a complete
 * temp file hard-linked into place, which fails when the lock exists). A lock or `daemon.json` naming a
 * dead pid is stale and replaced. `daemon.json` is written atomically (temp + rename), mode 0600.
 */

/** The discovery file clients read: `<home>/daemon.json`. `startedAt` is an ISO 8601 timestamp. */
export interface DaemonInfo {
  pid: number;
  version: string;
  httpPort: number;
  wsPort: number;
  host: string;
  token: string;
  startedAt: string;
}

const daemonInfoSchema = z.object({
  pid: z.number().int().positive(),
  version: z.string(),
  httpPort: z.number().int(),
  wsPort: z.number().int(),
  host: z.string(),
  token: z.string(),
  startedAt: z.string(),
});

/** Reads `daemon.json`; undefined when missing or not a valid daemon file. */
export function readDaemonInfo(path: string): DaemonInfo | undefined {
  try {
    const parsed = daemonInfoSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
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

/** True when a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
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

function readLockPid(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function ownerAlive(pid: number | undefined, lockPath: string, isAlive: (pid: number) => boolean): boolean {
  if (pid === undefined) return false;
  if (pid === process.pid) return heldHere.has(lockPath);
  return isAlive(pid);
}

function refusal(pid: number, paths: LockPaths): LockResult {
  const info = readDaemonInfo(paths.daemonJson);
  if (info && info.pid === pid) return { ok: false, pid, httpPort: info.httpPort, wsPort: info.wsPort };
  return { ok: false, pid };
}

/** Takes the single-instance lock for a data folder (which must exist), replacing stale ones. */
export function acquireInstanceLock(
  paths: LockPaths,
  isAlive: (pid: number) => boolean = isPidAlive,
): LockResult {
  mkdirSync(dirname(paths.lock), { recursive: true });
  let replacedStale: number | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = `${paths.lock}.${process.pid}.${attempt}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    writeSync(fd, `${process.pid}\n`);
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
      if (info && info.pid !== process.pid && isAlive(info.pid)) {
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
        if (readLockPid(paths.lock) === process.pid) rmSync(paths.lock, { force: true });
      };
      return replacedStale === undefined ? { ok: true, release } : { ok: true, release, replacedStale };
    }
    const holder = readLockPid(paths.lock);
    if (holder !== undefined && ownerAlive(holder, paths.lock, isAlive)) return refusal(holder, paths);
    replacedStale = holder ?? replacedStale;
    rmSync(paths.lock, { force: true });
  }
  throw new Error(`could not take ${paths.lock}: it keeps reappearing (another daemon starting?)`);
}
