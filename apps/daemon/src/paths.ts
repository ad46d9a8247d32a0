import { join } from "node:path";
import { DAEMON_JSON } from "@dispatch/discovery";

export { currentHome, resolveHome } from "@dispatch/discovery";

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

/** Pure: every path the daemon uses under `home`; DISPATCH_CONFIG overrides the config file. */
export function daemonPaths(home: string, env: Record<string, string | undefined>): DaemonPaths {
  const override = env.DISPATCH_CONFIG?.trim();
  const logDir = join(home, "logs");
  return {
    home,
    configFile: override || join(home, "dispatch.toml"),
    configExplicit: Boolean(override),
    database: join(home, "dispatch.db"),
    daemonJson: join(home, DAEMON_JSON),
    lock: join(home, "daemon.lock"),
    logDir,
    logFile: join(logDir, "daemon.log"),
  };
}
