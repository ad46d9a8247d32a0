import { currentHome, type DaemonInfo, daemonUrls, findDaemon } from "@dispatch/discovery";
import { DispatchHttpClient } from "./http";
import { DispatchSocket, type SocketOptions } from "./socket";

/** No daemon is running for the data folder (no `daemon.json`, or its pid is dead). */
export class DaemonNotRunningError extends Error {
  readonly code = "CLIENT_DAEMON_NOT_RUNNING";
  constructor(readonly home: string) {
    super(`no dispatch daemon is running for ${home} (start one with: dispatch serve)`);
    this.name = "DaemonNotRunningError";
  }
}

export interface DaemonConnection {
  home: string;
  info: DaemonInfo;
  /** Re-reads `daemon.json` before every request (a restarted daemon has a new token, maybe new ports). */
  http: DispatchHttpClient;
  /** A socket that re-reads `daemon.json` before every reconnect (a restarted daemon has a new token). */
  socket(opts?: Omit<SocketOptions, "endpoint">): DispatchSocket;
}

/** Finds the daemon of a data folder through its `daemon.json` and builds clients with its token. */
export function connectToDaemon(
  opts: {
    home?: string;
    env?: Record<string, string | undefined>;
    /** The HTTP client's fetch (e.g. one that adds a timeout); default the global fetch. */
    fetch?: typeof fetch;
  } = {},
): DaemonConnection {
  const home = opts.home ?? currentHome(opts.env);
  const info = findDaemon(home);
  if (!info) throw new DaemonNotRunningError(home);
  const urls = daemonUrls(info);
  return {
    home,
    info,
    http: new DispatchHttpClient({
      baseUrl: urls.http,
      token: info.token,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      locate: () => {
        const latest = findDaemon(home);
        return latest && { baseUrl: daemonUrls(latest).http, token: latest.token };
      },
    }),
    socket: (socketOpts = {}) =>
      new DispatchSocket({
        ...socketOpts,
        endpoint: () => {
          const latest = findDaemon(home) ?? info;
          return { url: daemonUrls(latest).ws, token: latest.token };
        },
      }),
  };
}
