/**
 * The MCP server manager: one McpConnection per configured server, their tools kept registered in the
 * ToolRegistry (re-registered whenever a server's tool list changes, removed while it is not ready, so
 * the next step of every turn offers the current set), and the `McpServers` status view.
 */

import type { Disposer, Logger, Result } from "@dispatch/kernel";
import type { McpServerStatus } from "@dispatch/protocol/types";
import type { ToolRegistry } from "@dispatch/tools/contract";
import type { McpConfig } from "./config";
import { McpConnection } from "./connection";
import type { McpError, McpServers } from "./contract";
import { mcpTool } from "./mcp-tool";
import { exposedNames } from "./names";

export interface McpManagerOptions {
  config: McpConfig;
  registry: ToolRegistry;
  env: Record<string, string | undefined>;
  logger: Logger;
  version: string;
}

export interface McpManager extends McpServers {
  /** Starts the eager servers (without waiting for them). */
  startEager(): void;
  /** Starts the lazy servers that are not running yet (the first turn began). */
  startLazy(): void;
  /** Stops every server and unregisters every tool; children are gone when it resolves. */
  stopAll(): Promise<void>;
}

export function createMcpManager(opts: McpManagerOptions): McpManager {
  const listeners = new Set<() => void>();
  const registered = new Map<string, Disposer[]>();
  const connections = new Map<string, McpConnection>();
  const { config } = opts;

  const sync = (conn: McpConnection) => {
    for (const d of registered.get(conn.name) ?? []) d();
    const disposers: Disposer[] = [];
    if (conn.state === "ready") {
      const names = exposedNames(
        conn.name,
        conn.tools.map((t) => t.name),
      );
      const permission = config.servers[conn.name]?.permission ?? "ask";
      conn.tools.forEach((remote, i) => {
        try {
          disposers.push(opts.registry.register(mcpTool(conn, remote, names[i] ?? remote.name, permission)));
        } catch (e) {
          opts.logger.warn("mcp tool not offered", {
            server: conn.name,
            tool: remote.name,
            error: String(e),
          });
        }
      });
    }
    registered.set(conn.name, disposers);
  };

  for (const [name, server] of Object.entries(config.servers)) {
    const conn: McpConnection = new McpConnection({
      name,
      config: server,
      env: opts.env,
      logger: opts.logger,
      version: opts.version,
      onChange: () => {
        sync(conn);
        for (const l of [...listeners]) {
          try {
            l();
          } catch (e) {
            opts.logger.error("mcp listener threw", { error: String(e) });
          }
        }
      },
    });
    connections.set(name, conn);
  }

  const status = (conn: McpConnection): McpServerStatus => {
    const server = config.servers[conn.name];
    const s: McpServerStatus = {
      name: conn.name,
      transport: server?.command !== undefined ? "stdio" : "http",
      startup: server?.startup ?? "eager",
      state: conn.state,
      tools: registered.get(conn.name)
        ? exposedNames(
            conn.name,
            conn.tools.map((t) => t.name),
          )
        : [],
      restarts: conn.restarts,
    };
    if (conn.lastError !== undefined) s.lastError = conn.lastError;
    return s;
  };

  const startWhere = (startup: "eager" | "lazy") => {
    for (const conn of connections.values()) {
      if (config.servers[conn.name]?.startup === startup) conn.start();
    }
  };

  return {
    list: () => [...connections.values()].map(status),
    restart(name): Result<void, McpError> {
      const conn = connections.get(name);
      if (!conn) {
        const known = [...connections.keys()].join(", ") || "none";
        return {
          ok: false,
          error: {
            code: "MCP_UNKNOWN_SERVER",
            message: `no MCP server "${name}" is configured (configured: ${known})`,
          },
        };
      }
      if (conn.state === "disabled") {
        return {
          ok: false,
          error: { code: "MCP_SERVER_DISABLED", message: `MCP server "${name}" is disabled in the config` },
        };
      }
      void conn.restart();
      return { ok: true, value: undefined };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    startEager: () => startWhere("eager"),
    startLazy: () => startWhere("lazy"),
    async stopAll() {
      listeners.clear();
      await Promise.all([...connections.values()].map((c) => c.stop()));
      for (const ds of registered.values()) for (const d of ds) d();
      registered.clear();
    },
  };
}
