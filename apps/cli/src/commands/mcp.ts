import { MCP_HELP, runMcpCommand } from "../mcp";
import type { CommandSpec } from "./spec";

/** `dispatch mcp list`: its handler (mcp.ts) parses its own flags; global ones are handed back to it. */
export const mcp: CommandSpec = {
  name: "mcp",
  usage: "mcp list",
  summary: "the daemon's MCP servers: state, tool count, restarts, last error",
  helpText: MCP_HELP,
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  passThrough: true,
  run: (ctx) =>
    runMcpCommand(
      [
        ...(typeof ctx.values.home === "string" ? ["--home", ctx.home] : []),
        ...(ctx.json ? ["--json"] : []),
        ...ctx.args,
      ],
      ctx.io,
    ),
};
