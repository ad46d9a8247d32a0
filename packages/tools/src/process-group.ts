/**
 * Signalling and observing what one run_shell command started. The command runs as its own process
 * group, so `kill(-pgid)` reaches its whole tree, except processes that left the group (`setsid`,
 * daemons that double-fork into a new session). Those are found by a marker variable every
 * descendant inherits in its environment (/proc/<pid>/environ), unless it clears its environment.
 */

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
function groupIsRunning(pgid: number): boolean {
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

/** Pure: whether a /proc/<pid>/environ blob (NUL-separated) holds the entry `marker` ("NAME=value"). */
function environHas(environ: string, marker: string): boolean {
  return environ.startsWith(`${marker}\0`) || environ.includes(`\0${marker}\0`);
}

/** The pids (other than ours) whose environment holds `marker`; [] where /proc is missing. */
export function markedProcesses(marker: string): number[] {
  if (!procfs) return [];
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (environHas(readFileSync(`/proc/${name}/environ`, "latin1"), marker) && isRunning(pid))
        found.push(pid);
    } catch {
      // another user's process, or it exited while we looked
    }
  }
  return found;
}

function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function signalAll(pgid: number, marker: string, signal: NodeJS.Signals): void {
  signalGroup(pgid, signal);
  signalPids(markedProcesses(marker), signal);
}

/**
 * A kill sweep that a forking tree cannot outrun: every process found is first stopped (SIGSTOP
 * cannot be caught or ignored, so a stopped process forks no more), then the whole set is killed.
 * Children forked between the /proc listing and the stop are found by the next sweep.
 */
function stopThenKill(pgid: number | undefined, marker: string): void {
  if (pgid !== undefined) signalGroup(pgid, "SIGSTOP");
  const found = markedProcesses(marker);
  signalPids(found, "SIGSTOP");
  if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
  signalPids(found, "SIGKILL");
}

/**
 * Boot recovery: kills every process carrying the marker of run `runId` (a run_shell call a crashed
 * daemon left running; its group id may be reused by now, so only the marker is trusted). Sweeps until
 * two scans in a row find nothing. Returns how many distinct processes were found.
 */
export function killRun(markerName: string, runId: string): number {
  const marker = `${markerName}=${runId}`;
  const seen = new Set<number>();
  let clean = 0;
  for (let round = 0; round < KILL_ROUNDS * 5 && clean < 2; round++) {
    const found = markedProcesses(marker);
    if (found.length === 0) {
      clean += 1;
      continue;
    }
    clean = 0;
    for (const pid of found) seen.add(pid);
    stopThenKill(undefined, marker);
  }
  return seen.size;
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) return false;
    await Bun.sleep(50);
  }
  return true;
}

/** How many SIGKILL sweeps are made at most: each catches what forked since the previous one. */
const KILL_ROUNDS = 10;

/**
 * Ends everything a command left running: group `pgid` and every process carrying `marker`. SIGTERM
 * first; after `graceMs` SIGKILL, repeated so a process that keeps forking cannot outrun the sweep.
 * Resolves true when nothing is left.
 */
export async function terminateTree(pgid: number, marker: string, graceMs: number): Promise<boolean> {
  const alive = () => groupIsRunning(pgid) || markedProcesses(marker).length > 0;
  // One clean scan can miss a child forked while /proc was being read: gone means two in a row.
  const gone = () => !alive() && !alive();
  if (gone()) return true;
  signalAll(pgid, marker, "SIGTERM");
  if (await until(gone, graceMs)) return true;
  for (let round = 0; round < KILL_ROUNDS; round++) {
    stopThenKill(pgid, marker);
    if (await until(gone, 250)) return true;
  }
  return false;
}
