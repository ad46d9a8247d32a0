import { conversationStoreExtension } from "@dispatch/conversation-store";
import type { Extension } from "@dispatch/kernel";
import { metricsExtension } from "@dispatch/metrics";
import { providersExtension } from "@dispatch/providers";
import { relayPublishExtension } from "@dispatch/relay-publish/extension";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { sharesExtension } from "@dispatch/shares";
import { surfaceRegistryExtension } from "@dispatch/surface-registry";
import { DEFAULT_SCRUBBED_ENV, toolsExtensions } from "@dispatch/tools";
import { mcpExtension } from "@dispatch/tools-mcp";
import { httpTransportExtension } from "@dispatch/transport-http";
import { transportWsExtension } from "@dispatch/transport-ws";
import type { DaemonConfig } from "./config";
import { DAEMON_PROVIDER_KINDS } from "./provider-kinds";

/** Every extension the daemon boots, in manifest order (the kernel sorts them by dependencies). */
export function daemonExtensions(opts: {
  database: string;
  env: Record<string, string | undefined>;
  version: string;
}): Extension[] {
  return [
    metricsExtension(),
    surfaceRegistryExtension(),
    conversationStoreExtension({ path: opts.database }),
    sharesExtension(),
    providersExtension({ env: opts.env, kinds: DAEMON_PROVIDER_KINDS }),
    ...toolsExtensions(),
    mcpExtension({ env: opts.env }),
    sessionOrchestratorExtension(),
    transportWsExtension(),
    httpTransportExtension({ version: opts.version }),
    relayPublishExtension(),
  ];
}

/**
 * Pure: the host's config sections (keyed by extension id) from the daemon config and the token. Both
 * transports get the same bind address, origins and token; extension sections of the file pass through.
 * `protect` (the data folder and the config file) joins the permission gate's protected paths: tool
 * writes there always ask.
 */
export function hostConfig(
  config: DaemonConfig,
  token: string,
  protect: readonly string[] = [],
  files: { browserSessions?: string } = {},
): Record<string, unknown> {
  const gate = config.sections["permission-gate"] ?? {};
  const runShell = config.sections["tool-run-shell"] ?? {};
  const scrubEnv = [
    ...new Set([
      ...((runShell.scrubEnv as string[] | undefined) ?? DEFAULT_SCRUBBED_ENV),
      ...credentialKeyEnvNames(config),
      ...mcpSecretEnvNames(config),
    ]),
  ];
  const connection = {
    host: config.host,
    token,
    allowedOrigins: config.allowedOrigins,
    allowedHosts: config.allowedHosts,
    requireTokenForBrowsers: config.requireTokenForBrowsers,
    trustLocalBrowsers: config.trustLocalBrowsers,
  };
  return {
    ...config.sections,
    "transport-ws": {
      ...config.ws,
      ...connection,
      port: config.wsPort,
      // With a fixed HTTP port, pages served from it are an allowed origin of the WS port too.
      ...(config.httpPort > 0 ? { httpPort: config.httpPort } : {}),
      ...(files.browserSessions === undefined ? {} : { sessionsFile: files.browserSessions }),
    },
    "transport-http": {
      ...config.http,
      ...connection,
      port: config.httpPort,
      ...(config.webRoot === undefined ? {} : { webRoot: config.webRoot }),
    },
    "permission-gate": {
      ...gate,
      protectedPaths: [...((gate.protectedPaths as string[] | undefined) ?? []), ...protect],
    },
    // Shell commands never see the daemon's credentials, including keys named by `apiKeyEnv`.
    "tool-run-shell": { ...runShell, scrubEnv },
  };
}

/** Pure: the environment variables that hold provider keys according to the config file (`apiKeyEnv`). */
export function credentialKeyEnvNames(config: DaemonConfig): string[] {
  const credentials = (config.sections.providers?.credentials ?? {}) as Record<
    string,
    { apiKeyEnv?: unknown }
  >;
  return Object.values(credentials)
    .map((c) => c?.apiKeyEnv)
    .filter((name): name is string => typeof name === "string" && name.length > 0);
}

/** Pure: the `[mcp.servers.*]` env and headers values as written (they may hold secrets or `${VAR}`s). */
export function mcpSecretValues(config: DaemonConfig): string[] {
  const servers = (config.sections.mcp?.servers ?? {}) as Record<
    string,
    { env?: Record<string, unknown>; headers?: Record<string, unknown> }
  >;
  return Object.values(servers).flatMap((s) =>
    [...Object.values(s?.env ?? {}), ...Object.values(s?.headers ?? {})].filter(
      (v): v is string => typeof v === "string",
    ),
  );
}

/** Pure: the environment variables named by `${VAR}` in MCP env and headers values. */
export function mcpSecretEnvNames(config: DaemonConfig): string[] {
  return mcpSecretValues(config).flatMap((v) =>
    [...v.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string),
  );
}
