/** Builds the SDK client transport of one configured server, resolving `${VAR}` references. */

import type { Stream } from "node:stream";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { interpolateAll, type McpServerConfig } from "./config";

export type Built = { ok: true; transport: Transport; stderr?: Stream } | { ok: false; message: string };

/**
 * The transport for `config`. A stdio server gets the SDK's minimal inherited environment (PATH,
 * HOME, …) plus its own `env`, never the daemon's credentials; its stderr is piped (see `stderr`).
 */
export function buildTransport(config: McpServerConfig, env: Record<string, string | undefined>): Built {
  if (config.command !== undefined) {
    const vars = interpolateAll(config.env, "env", env);
    if (!vars.ok) return vars;
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args ?? [],
      env: vars.value,
      ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
      stderr: "pipe",
    });
    const stderr = transport.stderr ?? undefined;
    return stderr ? { ok: true, transport, stderr } : { ok: true, transport };
  }
  const headers = interpolateAll(config.headers, "headers", env);
  if (!headers.ok) return headers;
  const transport = new StreamableHTTPClientTransport(new URL(config.url ?? ""), {
    requestInit: { headers: headers.value },
    // The connection manager restarts a lost server itself, with its own backoff.
    reconnectionOptions: {
      maxReconnectionDelay: 30_000,
      initialReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 2,
      maxRetries: 0,
    },
  });
  return { ok: true, transport };
}
