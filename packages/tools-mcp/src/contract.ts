/**
 * The MCP contract: the `McpServers` service (status and restart of every configured server, read by
 * the `mcp` surface, `GET /mcp/servers` and `dispatch mcp list`) and the status shape it reports.
 * MCP tools themselves are contributed through the ToolRegistry as `mcp__<server>__<tool>`.
 */

import { type Disposer, defineService, type Result } from "@dispatch/kernel";
import type { McpServerStatus } from "@dispatch/protocol/types";

export type { McpServerState, McpServerStatus } from "@dispatch/protocol/types";

export const McpErrorCodes = [
  /** restart: no server of that name is configured. */
  "MCP_UNKNOWN_SERVER",
  /** restart: the server is disabled in the config (`enabled = false`). */
  "MCP_SERVER_DISABLED",
] as const;
export type McpErrorCode = (typeof McpErrorCodes)[number];
export interface McpError {
  code: McpErrorCode;
  message: string;
}

export interface McpServers {
  /** Every configured server in config order, disabled ones included. */
  list(): McpServerStatus[];
  /** Stops the server (if running) and starts it again now, resetting its backoff. */
  restart(name: string): Result<void, McpError>;
  /** Called whenever a server's state, tools or last error changed. */
  onChange(listener: () => void): Disposer;
}
export const McpServers = defineService<McpServers>("tools-mcp/servers");

/** The global surface showing every server's state with a restart button each. */
export const MCP_SURFACE_ID = "mcp";
export const MCP_EXTENSION_ID = "mcp";
