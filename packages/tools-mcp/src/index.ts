export { backoffMs, MAX_ATTEMPTS } from "./backoff";
export {
  interpolate,
  interpolateAll,
  McpConfig,
  type McpConfigInput,
  McpServerConfig,
  SERVER_NAME,
} from "./config";
export * from "./contract";
export { type McpExtensionOptions, mcpExtension } from "./extension";
// The manager (mcp.ts) is not re-exported: it loads the MCP SDK, which the extension imports only
// when a server is configured.
export type { McpManager } from "./mcp";
export { exposedNames, toolPrefix } from "./names";
export { blockText, toToolResult } from "./results";
export { mcpSpec, mcpSurface, statusLine } from "./surface";
