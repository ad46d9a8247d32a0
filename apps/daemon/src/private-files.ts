import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DaemonPaths } from "./paths";

/**
 * The data folder holds every conversation, the token and the keys' traces in logs: other users of the
 * machine must not read it. Folders are 0700 and files 0600, also when they already existed with looser
 * modes (then tightened, and each change is reported so the log says what was fixed). SQLite gives its
 * `-wal` / `-shm` files the database's mode, so creating the database file 0600 before SQLite opens it
 * keeps them private too; existing ones are tightened like the rest.
 */

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** A mode that was tightened: what it was. */
export interface Tightened {
  path: string;
  from: string;
  to: string;
}

/** Pure: whether `mode` gives anything to group or others. */
export function isLoose(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

function tighten(path: string, want: number, out: Tightened[]): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return; // absent: created private when it is made
  }
  if (!isLoose(mode)) return;
  chmodSync(path, want);
  out.push({ path, from: mode.toString(8).padStart(4, "0"), to: want.toString(8).padStart(4, "0") });
}

/**
 * Creates the data and log folders 0700 and the database file 0600 when missing, and tightens every
 * private path that exists with a looser mode. Returns what was tightened (for a warning per path).
 */
export function securePrivateFiles(paths: DaemonPaths, keptLogs: number): Tightened[] {
  const out: Tightened[] = [];
  for (const dir of [paths.home, paths.logDir]) {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    tighten(dir, DIR_MODE, out);
  }
  closeSync(openSync(paths.database, "a", FILE_MODE));
  const files = [paths.database, `${paths.database}-wal`, `${paths.database}-shm`, paths.daemonJson];
  // browser-sessions.json holds session cookies of browsers the daemon admitted.
  files.push(
    paths.lock,
    join(paths.home, "browser-sessions.json"),
    paths.logFile,
    ...rotated(paths.logFile, keptLogs),
  );
  for (const file of files) tighten(file, FILE_MODE, out);
  return out;
}

function rotated(logFile: string, kept: number): string[] {
  return Array.from({ length: kept }, (_, i) => `${logFile}.${i + 1}`);
}
