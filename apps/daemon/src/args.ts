import { parseArgs } from "node:util";
import type { ConfigArgs } from "./config";

export const DAEMON_USAGE = `usage: dispatch serve [options]

Runs the Dispatch daemon in the foreground until SIGINT/SIGTERM.

options:
  --home <dir>         data folder (default: DISPATCH_HOME, else the per-user state folder)
  --config <file>      config file (default: <home>/dispatch.toml, or DISPATCH_CONFIG)
  --http-port <n>      HTTP API port (0 = a free port; default 24203, or DISPATCH_HTTP_PORT)
  --ws-port <n>        WebSocket port (0 = a free port; default 24205, or DISPATCH_WS_PORT)
  --host <addr>        bind address (default 127.0.0.1, or DISPATCH_HOST)
  --log-level <level>  debug, info, warn or error (default info, or DISPATCH_LOG_LEVEL)
  -h, --help           show this help`;

export interface DaemonArgs extends ConfigArgs {
  home?: string;
  config?: string;
  help: boolean;
}

/** Parses the daemon's arguments; the error message names the bad argument. */
export function parseDaemonArgs(
  argv: readonly string[],
): { ok: true; value: DaemonArgs } | { ok: false; message: string } {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        home: { type: "string" },
        config: { type: "string" },
        "http-port": { type: "string" },
        "ws-port": { type: "string" },
        host: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    const out: DaemonArgs = { help: values.help === true };
    if (values.home !== undefined) out.home = values.home;
    if (values.config !== undefined) out.config = values.config;
    if (values["http-port"] !== undefined) out.httpPort = values["http-port"];
    if (values["ws-port"] !== undefined) out.wsPort = values["ws-port"];
    if (values.host !== undefined) out.host = values.host;
    if (values["log-level"] !== undefined) out.logLevel = values["log-level"];
    return { ok: true, value: out };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}
