/** Signalling and observing a process group (run_shell starts each command as its own group). */

import { existsSync, readdirSync, readFileSync } from "node:fs";

const procfs = existsSync("/proc/self/stat");

/** Sends `signal` to every process of group `pgid`; false when no process of the group exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Pure: the state letter and process group of a /proc/<pid>/stat line. */
export function parseStat(stat: string): { state: string; pgrp: number } | undefined {
  // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const pgrp = Number(fields[2]);
  return state && Number.isFinite(pgrp) ? { state, pgrp } : undefined;
}

/**
 * Whether a process is still running. Zombies count as gone: when the parent that would reap an
 * orphan does not (PID 1 in some containers), a killed process lingers as a zombie.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!procfs) return true;
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"))?.state !== "Z";
  } catch {
    return false;
  }
}

/** Whether group `pgid` still has a running (non-zombie) member. */
export function groupIsRunning(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  if (!procfs) return true;
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    try {
      const s = parseStat(readFileSync(`/proc/${name}/stat`, "utf8"));
      if (s && s.pgrp === pgid && s.state !== "Z") return true;
    } catch {
      // the process exited while we looked
    }
  }
  return false;
}
