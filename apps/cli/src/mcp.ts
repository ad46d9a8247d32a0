/**
 * `dispatch mcp list [--json] [--home <dir>]`: every configured MCP server of the running daemon with
 * its state, tool count and last error (`GET /mcp/servers`). Self-contained (its own flags) so the
 * command table only routes `mcp` here. It does not start a daemon: it reports on the running one.
 */

import { parseArgs } from "node:util";
import { connectToDaemon } from "@dispatch/client";
import { currentHome, findDaemon } from "@dispatch/discovery";
import type { McpServerStatus, McpServersResponse } from "@dispatch/protocol/types";
import { type CliIo, EXIT, isConnectionError } from "./io";

export const MCP_HELP = `dispatch mcp list [--json] — the daemon's MCP servers: state, tools, restarts, last error.
Servers are configured in dispatch.toml under [mcp.servers.<name>] (see the README).
Global flags: --json, --home <dir>, -h/--help`;

/** Pure: one line per server, e.g. "github  ready       http   12 tools". */
export function formatMcpServers(servers: readonly McpServerStatus[]): string[] {
  if (servers.length === 0) return ["no MCP servers configured"];
  const width = Math.max(...servers.map((s) => s.name.length));
  return servers.flatMap((s) => {
    const line = `${s.name.padEnd(width)}  ${s.state.padEnd(10)}  ${s.transport.padEnd(5)}  ${s.tools.length} tool${s.tools.length === 1 ? "" : "s"}${s.restarts > 0 ? `, ${s.restarts} restart${s.restarts === 1 ? "" : "s"}` : ""}`;
    return s.lastError ? [line, `${" ".repeat(width)}  last error: ${s.lastError}`] : [line];
  });
}

export async function runMcpCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    io.stderr.write(`dispatch mcp: ${(e as Error).message}\n(see: dispatch mcp --help)\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.stdout.write(`${MCP_HELP}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (positionals[0] !== "list" || positionals.length > 1) {
    io.stderr.write(
      `dispatch mcp: unknown subcommand "${positionals.join(" ")}"\n(see: dispatch mcp --help)\n`,
    );
    return EXIT.usage;
  }
  const home = values.home ?? currentHome(io.env);
  if (!findDaemon(home)) {
    io.stderr.write(`dispatch: no dispatch daemon is running for ${home}\n`);
    return EXIT.unavailable;
  }
  let res: McpServersResponse;
  try {
    res = await connectToDaemon({ home }).http.mcpServers();
  } catch (e) {
    io.stderr.write(`dispatch: cannot list MCP servers: ${(e as Error).message}\n`);
    return isConnectionError(e) ? EXIT.unavailable : EXIT.failed;
  }
  if (values.json) io.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
  else io.stdout.write(`${formatMcpServers(res.servers).join("\n")}\n`);
  return EXIT.ok;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { json: { type: "boolean" }, home: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
}
