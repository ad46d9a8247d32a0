import type { DaemonInfo } from "./instance";

export type { DaemonInfo };

/** Options of `runDaemon`. Everything defaults to the real process. */
export interface RunDaemonOptions {
  /** Data folder; default DISPATCH_HOME, else the per-user state folder. */
  home?: string;
  /** Environment to read DISPATCH_* from; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Command-line arguments (without `bun main.ts`); default none. See `DAEMON_USAGE`. */
  argv?: string[];
  /**
   * Install SIGINT/SIGTERM handlers that stop the daemon and then exit the process (0 when the
   * shutdown finished in time). Default true. Pass false when the caller owns the process.
   */
  signals?: boolean;
  /** Where the startup banner goes; default stdout. */
  out?: (text: string) => void;
  /** Where human-readable logs go; default stderr. `null` = nowhere (the log file still gets them). */
  stderr?: { write(text: string): void; isTTY: boolean } | null;
}

/** A running daemon. */
export interface RunningDaemon {
  home: string;
  httpPort: number;
  wsPort: number;
  host: string;
  token: string;
  pid: number;
  /** Graceful shutdown (idempotent): stop turns, close sockets with 1001, close the database, remove daemon.json. */
  stop(): Promise<void>;
  /** Resolves when the daemon has stopped, whoever stopped it. */
  stopped: Promise<void>;
}

export type DaemonErrorCode =
  /** The config file, environment or arguments hold an unknown key or a bad value (one line each). */
  | "DAEMON_CONFIG_INVALID"
  /** Bad command-line arguments; the message ends with the usage. */
  | "DAEMON_USAGE"
  /** `--help` was asked for: the message is the usage; not a failure. */
  | "DAEMON_HELP"
  /** Another live daemon holds the data folder: "dispatch daemon already running (pid N, http :P, ws :Q)". */
  | "DAEMON_ALREADY_RUNNING"
  /** An extension the daemon cannot run without (a transport, the store…) failed to start. */
  | "DAEMON_BOOT_FAILED";

/** Exit code of the process for each outcome. */
export const DAEMON_EXIT_CODES: Record<DaemonErrorCode, number> = {
  DAEMON_CONFIG_INVALID: 2,
  DAEMON_USAGE: 2,
  DAEMON_HELP: 0,
  DAEMON_ALREADY_RUNNING: 3,
  DAEMON_BOOT_FAILED: 1,
};

/** A startup failure; `message` is the whole user-facing text (one problem per line). */
export class DaemonError extends Error {
  override readonly name = "DaemonError";
  readonly exitCode: number;
  constructor(
    readonly code: DaemonErrorCode,
    message: string,
  ) {
    super(message);
    this.exitCode = DAEMON_EXIT_CODES[code];
  }
}
