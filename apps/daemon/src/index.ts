export { DAEMON_USAGE, type DaemonArgs, parseDaemonArgs } from "./args";
export { colorEnabled, type Painter, painter, type Style } from "./color";
export {
  type ConfigArgs,
  type DaemonConfig,
  DEFAULT_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_WS_PORT,
  loadConfig,
  parseConfigFile,
  resolveConfig,
} from "./config";
export * from "./contract";
export { alreadyRunningMessage, banner, DAEMON_VERSION, runDaemon } from "./daemon";
export { daemonExtensions, hostConfig } from "./extensions";
export {
  acquireInstanceLock,
  isPidAlive,
  readDaemonInfo,
  removeDaemonInfo,
  writeDaemonInfo,
} from "./instance";
export { createDaemonLogger, type DaemonLogger, type DaemonLoggerOptions } from "./logger";
export { currentHome, type DaemonPaths, daemonPaths, resolveHome } from "./paths";
export { DAEMON_PROVIDER_KINDS, daemonProviderKinds } from "./provider-kinds";
