/**
 * The `mcp` extension: connects the servers of `[mcp.servers.<name>]`, offers their tools through the
 * ToolRegistry, provides `McpServers` and registers the global `mcp` surface when a surface registry is
 * installed. Eager servers start at activation without delaying the boot; lazy ones when the first turn
 * starts. Shutdown closes every server (stdio children are ended before the daemon exits).
 */

import type { Extension } from "@dispatch/kernel";
import { TurnStarted } from "@dispatch/session-orchestrator/contract";
import { SurfaceRegistry } from "@dispatch/surface-registry/contract";
import { ToolRegistry, ToolsError } from "@dispatch/tools/contract";
import { z } from "zod";
import packageJson from "../package.json";
import { McpConfig } from "./config";
import { MCP_EXTENSION_ID, McpServers } from "./contract";
import { mcpSurface } from "./surface";

export interface McpExtensionOptions {
  /** Where `${VAR}` references in env and headers values are read; default process.env. */
  env?: Record<string, string | undefined>;
  /** Where the surface is placed; default "sidebar". */
  region?: string;
}

export function mcpExtension(opts: McpExtensionOptions = {}): Extension {
  let stop: (() => Promise<void>) | undefined;
  return {
    manifest: {
      id: MCP_EXTENSION_ID,
      version: packageJson.version,
      provides: [McpServers],
      needs: [ToolRegistry],
      optionalNeeds: [SurfaceRegistry],
    },
    async activate(ctx) {
      let config: McpConfig;
      try {
        config = McpConfig.parse(ctx.config ?? {});
      } catch (e) {
        if (e instanceof z.ZodError) {
          throw new ToolsError(
            "TOOLS_INVALID_CONFIG",
            `invalid config of extension "mcp": ${z.prettifyError(e)}`,
          );
        }
        throw e;
      }
      if (Object.keys(config.servers).length === 0) {
        // No server configured (the default): the SDK is never loaded, which keeps the daemon's start fast.
        ctx.provide(McpServers, noServers);
        const surfaces = ctx.tryGet(SurfaceRegistry);
        if (surfaces) ctx.scope.add(surfaces.register(mcpSurface(noServers, opts.region)));
        return;
      }
      const { createMcpManager } = await import("./mcp");
      const manager = createMcpManager({
        config,
        registry: ctx.get(ToolRegistry),
        env: opts.env ?? process.env,
        logger: ctx.logger,
        version: packageJson.version,
      });
      ctx.provide(McpServers, manager);
      const surfaces = ctx.tryGet(SurfaceRegistry);
      if (surfaces) ctx.scope.add(surfaces.register(mcpSurface(manager, opts.region)));
      ctx.scope.add(ctx.on(TurnStarted, () => manager.startLazy()));
      stop = () => manager.stopAll();
      manager.startEager();
    },
    // Before the scope: children end while the rest of the host (logger, registry) still runs.
    async deactivate() {
      await stop?.();
    },
  };
}

/** The servers handle when none is configured: an empty list and restart's usual refusal. */
const noServers: McpServers = {
  list: () => [],
  restart: (name) => ({
    ok: false,
    error: {
      code: "MCP_UNKNOWN_SERVER",
      message: `no MCP server "${name}" is configured (configured: none)`,
    },
  }),
  onChange: () => () => {},
};
