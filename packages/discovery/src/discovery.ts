import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { z } from "zod";

/**
 * How clients find a running daemon (PROTOCOL.md §1): the data folder, and the `daemon.json` the daemon
 * writes there once both ports listen. The daemon and every client share this one definition.
 */

/** The discovery file `<home>/daemon.json`. `startedAt` is an ISO 8601 timestamp. */
export const daemonInfoSchema = z.object({
  pid: z.number().int().positive(),
  version: z.string(),
  httpPort: z.number().int().min(1).max(65535),
  wsPort: z.number().int().min(1).max(65535),
  host: z.string().min(1),
  token: z.string().min(1),
  startedAt: z.string(),
  /** Which process `pid` was (see `processKey`), so a pid reused after a crash or reboot is not taken for it. */
  processKey: z.string().optional(),
});
export type DaemonInfo = z.infer<typeof daemonInfoSchema>;

export const DAEMON_JSON = "daemon.json";

export interface HomeInputs {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  homedir: string;
}

/**
 * Pure: the data folder. DISPATCH_HOME wins; else the per-user state folder of the platform:
 * macOS `~/Library/Application Support/dispatch`, Windows `%LOCALAPPDATA%\dispatch`,
 * elsewhere `$XDG_STATE_HOME/dispatch` or `~/.local/state/dispatch`.
 */
export function resolveHome({ env, platform, homedir }: HomeInputs): string {
  const explicit = env.DISPATCH_HOME?.trim();
  if (explicit) return explicit;
  if (platform === "darwin") return join(homedir, "Library", "Application Support", "dispatch");
  if (platform === "win32") {
    const local = env.LOCALAPPDATA?.trim();
    return join(local || join(homedir, "AppData", "Local"), "dispatch");
  }
  const state = env.XDG_STATE_HOME?.trim();
  // The XDG spec says relative paths in XDG_* are invalid and must be ignored.
  if (state?.startsWith("/")) return join(state, "dispatch");
  return join(homedir, ".local", "state", "dispatch");
}

/** The data folder of this process's environment. */
export function currentHome(env: Record<string, string | undefined> = process.env): string {
  return resolveHome({ env, platform: process.platform, homedir: os.homedir() });
}

/** Reads `daemon.json`; undefined when missing or not a valid daemon file. */
export function readDaemonInfo(path: string): DaemonInfo | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = daemonInfoSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Pure: field 22 of `/proc/<pid>/stat`, the process's start time in clock ticks after boot. */
export function startTicksFromStat(stat: string): string | undefined {
  // Field 2 (the command name) may hold spaces and parentheses: count the fields after its last ")".
  const ticks = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3];
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
}

/**
 * An identity of a running process that a later process with the same pid does not share: the boot id
 * and the process's start time in ticks (Linux). Undefined where /proc is not available. Independent of
 * the wall clock, so clock steps cannot make a live daemon look stale.
 */
export function processKey(pid: number): string | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const ticks = startTicksFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    return ticks === undefined ? undefined : `${boot}/${ticks}`;
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is alive and is the process `key` (from `processKey`) was taken of. Without a key, or
 * where keys are not available, a live pid counts.
 */
export function isSameProcessAlive(pid: number, key: string | undefined): boolean {
  if (!isPidAlive(pid)) return false;
  if (key === undefined) return true;
  const now = processKey(pid);
  return now === undefined || now === key;
}

/**
 * The running daemon of a data folder, or undefined when none is running: a stale file is ignored, also
 * one whose pid now belongs to another process (after a crash or a reboot).
 */
export function findDaemon(home: string): DaemonInfo | undefined {
  const info = readDaemonInfo(join(home, DAEMON_JSON));
  return info && isSameProcessAlive(info.pid, info.processKey) ? info : undefined;
}

/** Pure: the base URLs of a daemon; IPv6 hosts are bracketed. */
export function daemonUrls(info: Pick<DaemonInfo, "host" | "httpPort" | "wsPort">): {
  http: string;
  ws: string;
} {
  const host = connectHost(info.host);
  return { http: `http://${host}:${info.httpPort}`, ws: `ws://${host}:${info.wsPort}` };
}

/** Pure: the address a local client should dial for a bind address (wildcards mean loopback). */
export function connectHost(bind: string): string {
  if (bind === "0.0.0.0" || bind === "") return "127.0.0.1";
  if (bind === "::" || bind === "[::]") return "[::1]";
  if (bind.includes(":") && !bind.startsWith("[")) return `[${bind}]`;
  return bind;
}
