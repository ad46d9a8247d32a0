/**
 * Another process's memory and CPU time, from Linux /proc (the daemon runs as a child process).
 */
import { readFileSync } from "node:fs";

/** Resident set size of `pid` in bytes (VmRSS), or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every common Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) `pid` has used so far, in milliseconds. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Samples `rssBytes(pid)` every `intervalMs` until stopped; keeps the peak. */
export class RssSampler {
  peak = 0;
  samples = 0;
  private timer: ReturnType<typeof setInterval>;
  constructor(
    readonly pid: number,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }
  sample(): number | undefined {
    const rss = rssBytes(this.pid);
    if (rss !== undefined) {
      this.peak = Math.max(this.peak, rss);
      this.samples++;
    }
    return rss;
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
