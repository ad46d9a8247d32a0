import { join } from "node:path";

/** Where a daemon keeps its files, all inside one data folder. */
export interface DaemonPaths {
  home: string;
  configFile: string;
  /** True when DISPATCH_CONFIG named the config file (a missing file is then an error). */
  configExplicit: boolean;
  database: string;
  daemonJson: string;
  lock: string;
  logDir: string;
  logFile: string;
}

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

/** Pure: every path the daemon uses under `home`; DISPATCH_CONFIG overrides the config file. */
export function daemonPaths(home: string, env: Record<string, string | undefined>): DaemonPaths {
  const override = env.DISPATCH_CONFIG?.trim();
  const logDir = join(home, "logs");
  return {
    home,
    configFile: override || join(home, "dispatch.toml"),
    configExplicit: Boolean(override),
    database: join(home, "dispatch.db"),
    daemonJson: join(home, "daemon.json"),
    lock: join(home, "daemon.lock"),
    logDir,
    logFile: join(logDir, "daemon.log"),
  };
}
