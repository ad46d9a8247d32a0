import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { processKey } from "@dispatch/discovery";
import { createHost, type Host, type Logger } from "@dispatch/kernel";
import { ModelCatalog } from "@dispatch/providers";
import { Orchestrator } from "@dispatch/session-orchestrator";
import { HttpTransport } from "@dispatch/transport-http";
import { WsTransport } from "@dispatch/transport-ws";
import packageJson from "../package.json";
import { DAEMON_USAGE, parseDaemonArgs } from "./args";
import { colorEnabled } from "./color";
import { type DaemonConfig, loadConfig } from "./config";
import { DaemonError, type RunDaemonOptions, type RunningDaemon } from "./contract";
import {
  credentialKeyEnvNames,
  daemonExtensions,
  hostConfig,
  mcpSecretEnvNames,
  mcpSecretValues,
} from "./extensions";
import { acquireInstanceLock, type LockResult, removeDaemonInfo, writeDaemonInfo } from "./instance";
import { createDaemonLogger, type DaemonLogger } from "./logger";
import { currentHome, type DaemonPaths, daemonPaths } from "./paths";
import { securePrivateFiles } from "./private-files";

export const DAEMON_VERSION: string = packageJson.version;

/** How long running turns get to stop and persist what they produced. */
const TURN_SHUTDOWN_MS = 3000;
/** How long the extensions get to close (sockets with 1001, the database). */
const HOST_STOP_MS = 2000;
/** After a signal, the process exits by then whatever happens. */
const HARD_DEADLINE_MS = 6000;

/** Environment variables whose values are secrets: scrubbed from every log line. */
const SECRET_ENV = ["DISPATCH_API_KEY", "DISPATCH_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"];

/** Pure: every secret the daemon knows of (token, API keys from the environment and the config file). */
export function knownSecrets(
  config: DaemonConfig,
  token: string,
  env: Record<string, string | undefined>,
): string[] {
  const named = [...SECRET_ENV, ...credentialKeyEnvNames(config), ...mcpSecretEnvNames(config)];
  const secrets = [token, ...named.map((k) => env[k] ?? "")];
  // MCP header and env values written literally (no `${VAR}`) are secrets too (tokens in headers).
  for (const v of mcpSecretValues(config)) if (!v.includes("${")) secrets.push(v);
  const credentials = (config.sections.providers?.credentials ?? {}) as Record<string, { apiKey?: unknown }>;
  for (const c of Object.values(credentials)) if (typeof c?.apiKey === "string") secrets.push(c.apiKey);
  // Very short values would scrub ordinary words out of log lines; real keys are long.
  return secrets.filter((v) => v.length >= 8);
}

/** Pure: the refusal of a second daemon on the same data folder. */
export function alreadyRunningMessage(held: Extract<LockResult, { ok: false }>): string {
  const ports =
    held.httpPort !== undefined && held.wsPort !== undefined
      ? `, http :${held.httpPort}, ws :${held.wsPort}`
      : "";
  return `dispatch daemon already running (pid ${held.pid}${ports})`;
}

/** Pure: the startup banner. */
export function banner(b: {
  version: string;
  pid: number;
  home: string;
  httpUrl: string;
  wsUrl: string;
  defaultModel: string | undefined;
  /** Why the default model cannot be resolved (e.g. its credential listed no models). */
  defaultModelProblem?: string;
  logFile: string;
}): string {
  let model = b.defaultModel ?? "none (the providers extension is not running)";
  if (b.defaultModelProblem) model += ` — unusable: ${b.defaultModelProblem}`;
  if (b.defaultModel?.startsWith("local/")) {
    model +=
      " — the offline local model (configure a provider: DISPATCH_BASE_URL + DISPATCH_MODEL, or [providers] in dispatch.toml)";
  }
  return [
    `dispatch daemon ${b.version} ready (pid ${b.pid})`,
    `  data   ${b.home}`,
    `  http   ${b.httpUrl}`,
    `  ws     ${b.wsUrl}`,
    `  model  ${model}`,
    `  log    ${b.logFile}`,
    "",
  ].join("\n");
}

/** `{ processKey }` where process keys are available, else nothing. */
function keyOf(pid: number): { processKey?: string } {
  const key = processKey(pid);
  return key === undefined ? {} : { processKey: key };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface Prepared {
  home: string;
  paths: DaemonPaths;
  config: DaemonConfig;
}

/** Arguments, data folder and config; every problem is a DaemonError before anything is touched. */
async function prepare(opts: RunDaemonOptions, env: Record<string, string | undefined>): Promise<Prepared> {
  const parsed = parseDaemonArgs(opts.argv ?? []);
  if (!parsed.ok) throw new DaemonError("DAEMON_USAGE", `${parsed.message}\n\n${DAEMON_USAGE}`);
  const args = parsed.value;
  if (args.help) throw new DaemonError("DAEMON_HELP", DAEMON_USAGE);
  const home = resolve(opts.home ?? args.home ?? currentHome(env));
  const paths = daemonPaths(home, args.config ? { ...env, DISPATCH_CONFIG: args.config } : env);
  const loaded = await loadConfig({ path: paths.configFile, explicit: paths.configExplicit }, env, args);
  if (!loaded.ok) throw new DaemonError("DAEMON_CONFIG_INVALID", loaded.errors.join("\n"));
  return { home, paths, config: loaded.config };
}

/** Boots the host; a missing transport (or what it needs) fails the boot with every disabled reason. */
async function boot(host: Host, logger: Logger): Promise<{ http: HttpTransport; ws: WsTransport }> {
  let report: Awaited<ReturnType<Host["start"]>>;
  try {
    report = await host.start();
  } catch (e) {
    throw new DaemonError("DAEMON_BOOT_FAILED", `cannot boot: ${e instanceof Error ? e.message : String(e)}`);
  }
  // The kernel logs each failure as it happens; this line sums the boot up for the log reader.
  if (report.disabled.length > 0) {
    logger.warn("disabled extensions", {
      disabled: report.disabled.map((d) => `${d.id}: ${d.reason}`),
      active: report.active.length,
    });
  }
  const http = host.tryGet(HttpTransport);
  const ws = host.tryGet(WsTransport);
  if (!http || !ws) {
    const reasons = report.disabled.map((d) => `  ${d.id}: ${d.reason}`).join("\n");
    throw new DaemonError("DAEMON_BOOT_FAILED", `cannot start: required extensions are disabled\n${reasons}`);
  }
  return { http, ws };
}

/**
 * Runs the daemon: loads the config, takes the data folder's single-instance lock, boots every extension
 * through the kernel, writes `daemon.json` (0600) once both ports listen and prints where it listens.
 * Startup failures are DaemonErrors carrying the process exit code. With `signals` (default), SIGINT /
 * SIGTERM stop it gracefully and exit the process.
 */
export async function runDaemon(opts: RunDaemonOptions = {}): Promise<RunningDaemon> {
  const env = opts.env ?? process.env;
  const { home, paths, config } = await prepare(opts, env);
  const tightened = securePrivateFiles(paths, config.log.keep);
  const lock = acquireInstanceLock(paths);
  if (!lock.ok) throw new DaemonError("DAEMON_ALREADY_RUNNING", alreadyRunningMessage(lock));

  const token = config.token ?? randomBytes(32).toString("base64url");
  const stderr =
    opts.stderr === null
      ? undefined
      : (opts.stderr ?? {
          write: (t: string) => process.stderr.write(t),
          // "TTY" here means: time and colour wanted (NO_COLOR, FORCE_COLOR and TERM=dumb honoured).
          isTTY: colorEnabled(process.stderr, env),
        });
  let logger: DaemonLogger;
  try {
    logger = createDaemonLogger({
      level: config.log.level,
      file: paths.logFile,
      maxBytes: config.log.maxBytes,
      keep: config.log.keep,
      ...(stderr ? { stderr } : {}),
      secrets: knownSecrets(config, token, env),
    });
  } catch (e) {
    lock.release();
    throw new DaemonError("DAEMON_BOOT_FAILED", `cannot open the log in ${paths.logDir}: ${String(e)}`);
  }
  for (const t of tightened) {
    logger.warn("tightened the mode of a private file (other users could read it)", { ...t });
  }
  if (lock.replacedStale !== undefined) {
    logger.info("replaced a stale lock of a daemon that is gone", { stalePid: lock.replacedStale });
  }
  logger.info("starting", { version: DAEMON_VERSION, pid: process.pid, home, config: paths.configFile });

  const host = createHost({
    extensions: daemonExtensions({ database: paths.database, env, version: DAEMON_VERSION }),
    config: hostConfig(config, token, [home, paths.configFile], {
      browserSessions: join(home, "browser-sessions.json"),
    }),
    logger,
    // Each extension's cleanup gets a slice of HOST_STOP_MS, so one that hangs cannot starve the rest
    // (the database closes last).
    disposeTimeoutMs: 500,
  });
  let transports: { http: HttpTransport; ws: WsTransport };
  try {
    transports = await boot(host, logger);
  } catch (e) {
    await host.stop().catch((err) => logger.error("shutdown after a failed boot had errors", { err }));
    logger.error("boot failed", { code: e instanceof DaemonError ? e.code : "DAEMON_BOOT_FAILED" });
    logger.close();
    lock.release();
    throw e;
  }
  const { http, ws } = transports;

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  const removeFiles = () => {
    removeDaemonInfo(paths.daemonJson, process.pid);
    lock.release();
  };
  const detachSignals: (() => void)[] = [];

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info("shutting down");
      await http.stopAccepting().catch((err) => logger.warn("HTTP stopAccepting failed", { err }));
      const orchestrator = host.tryGet(Orchestrator);
      if (orchestrator) {
        await withTimeout(orchestrator.shutdown(), TURN_SHUTDOWN_MS, "stopping running turns").catch((err) =>
          logger.error("running turns did not stop in time", { err }),
        );
      }
      await withTimeout(host.stop(), HOST_STOP_MS, "stopping extensions").catch((err) =>
        logger.error("shutdown had errors", { err }),
      );
      removeFiles();
      for (const detach of detachSignals) detach();
      logger.info("stopped");
      logger.close();
      resolveStopped();
    })();
    return stopping;
  };

  if (opts.signals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn("second signal during shutdown: exiting now", { signal });
        removeFiles();
        process.exit(1);
      }
      logger.info("signal received; stopping", { signal });
      const deadline = setTimeout(() => {
        logger.error("shutdown passed its deadline; exiting", { deadlineMs: HARD_DEADLINE_MS });
        removeFiles();
        process.exit(1);
      }, HARD_DEADLINE_MS);
      deadline.unref();
      void stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    const onRejection = (reason: unknown) => logger.error("unhandled promise rejection", { err: reason });
    const onException = (err: Error) => logger.error("uncaught exception", { err });
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("unhandledRejection", onRejection);
    process.on("uncaughtException", onException);
    detachSignals.push(
      () => process.off("SIGINT", onSignal),
      () => process.off("SIGTERM", onSignal),
      () => process.off("unhandledRejection", onRejection),
      () => process.off("uncaughtException", onException),
    );
  }

  // Announced only now that a signal stops it cleanly: a Ctrl-C right after the banner must not kill it.
  const startedAt = new Date().toISOString();
  try {
    writeDaemonInfo(paths.daemonJson, {
      pid: process.pid,
      version: DAEMON_VERSION,
      httpPort: http.port,
      wsPort: ws.port,
      host: config.host,
      token,
      startedAt,
      ...keyOf(process.pid),
    });
  } catch (e) {
    await stop();
    throw new DaemonError(
      "DAEMON_BOOT_FAILED",
      `cannot write ${paths.daemonJson}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const catalog = host.tryGet(ModelCatalog);
  const defaultModel = catalog?.defaultModel();
  const resolved = defaultModel === undefined ? undefined : catalog?.resolve(defaultModel);
  const defaultModelProblem = resolved && !resolved.ok ? resolved.error.message : undefined;
  logger.info("ready", { httpPort: http.port, wsPort: ws.port, host: config.host, defaultModel });
  if (defaultModelProblem)
    logger.warn("the default model cannot be used", { defaultModel, problem: defaultModelProblem });
  (opts.out ?? ((t: string) => process.stdout.write(t)))(
    banner({
      version: DAEMON_VERSION,
      pid: process.pid,
      home,
      httpUrl: http.url,
      wsUrl: ws.url,
      defaultModel,
      ...(defaultModelProblem ? { defaultModelProblem } : {}),
      logFile: paths.logFile,
    }),
  );

  return {
    home,
    httpPort: http.port,
    wsPort: ws.port,
    host: config.host,
    token,
    pid: process.pid,
    stop,
    stopped,
  };
}
