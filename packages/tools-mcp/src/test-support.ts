/** Test helpers: a manager over real fixture servers, and waiting for a server state. Not package API. */

import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@dispatch/kernel";
import { withTimeout } from "@dispatch/testkit";
import { createToolRegistry, type Tool, type ToolContext, type ToolRegistry } from "@dispatch/tools";
import { McpConfig, type McpConfigInput } from "./config";
import type { McpServerState, McpServerStatus } from "./contract";
import { createMcpManager, type McpManager } from "./mcp";

export const STDIO_FIXTURE = join(import.meta.dir, "fixtures", "stdio-server.ts");

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "dispatch-mcp-"));
}

/** Lines of a fixture log ("" when it does not exist yet). */
export async function logLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, "utf8")).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

export interface TestManager {
  manager: McpManager;
  registry: ToolRegistry;
  /** Resolves with the status once `server` is in `state` (and `when` holds). */
  waitFor(
    server: string,
    state: McpServerState,
    when?: (s: McpServerStatus) => boolean,
  ): Promise<McpServerStatus>;
  /** Runs a registered tool as the orchestrator would (validate, then execute). */
  run(
    name: string,
    args: unknown,
    signal?: AbortSignal,
  ): Promise<{ content: string; isError: boolean; code?: string }>;
}

export function testManager(
  config: McpConfigInput,
  env: Record<string, string | undefined> = {},
): TestManager {
  const registry = createToolRegistry();
  const manager = createMcpManager({
    config: McpConfig.parse(config),
    registry,
    env,
    logger: silentLogger,
    version: "0.0.0",
  });
  const find = (server: string) => manager.list().find((s) => s.name === server);
  return {
    manager,
    registry,
    waitFor(server, state, when = () => true) {
      const ok = () => {
        const s = find(server);
        return s && s.state === state && when(s) ? s : undefined;
      };
      const now = ok();
      if (now) return Promise.resolve(now);
      let off = () => {};
      const p = new Promise<McpServerStatus>((resolve) => {
        off = manager.onChange(() => {
          const s = ok();
          if (s) resolve(s);
        });
      });
      return withTimeout(
        p,
        15_000,
        `MCP server ${server} to be ${state} (now ${JSON.stringify(find(server))})`,
      ).finally(() => off());
    },
    async run(name, args, signal = new AbortController().signal) {
      const tool: Tool | undefined = registry.get(name);
      if (!tool)
        throw new Error(
          `no tool ${name}; have ${registry
            .list()
            .map((t) => t.name)
            .join(", ")}`,
        );
      const v = tool.validate(args);
      if (!v.ok) return { content: v.message, isError: true, code: "TOOL_INVALID_ARGS" };
      const ctx: ToolContext = {
        conversationId: "c",
        turnId: "t",
        toolCallId: "x",
        cwd: "/",
        signal,
        onOutput: () => {},
      };
      return tool.execute(v.value, ctx);
    },
  };
}

type ServerInput = NonNullable<McpConfigInput["servers"]>[string];

/** A stdio fixture server (permission "allow" unless `extra` says otherwise). */
export function stdioServer(extra: Partial<ServerInput> = {}, env: Record<string, string> = {}): ServerInput {
  return { command: "bun", args: [STDIO_FIXTURE], env, permission: "allow", ...extra };
}
export { startHttpFixture } from "./fixtures/http-server";
