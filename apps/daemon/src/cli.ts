/**
 * The light entry point for the `dispatch` CLI: what it needs on every invocation (colours, paths,
 * the daemon's usage text), without loading the daemon's extensions, provider SDKs or the store.
 * `import("@dispatch/daemon")` is for the commands that really run or inspect a daemon (serve, doctor).
 */
export { DAEMON_USAGE } from "./args";
export { colorEnabled, type Painter, painter, type Style } from "./color";
export { type DaemonPaths, daemonPaths } from "./paths";
