import type { Field, McpServerStatus, SurfaceSpec } from "@dispatch/protocol/types";
import { SurfaceActionError, type SurfaceProvider, unknownAction } from "@dispatch/surface-registry/contract";
import { MCP_SURFACE_ID, type McpServers } from "./contract";

const TITLE = "MCP servers";

/** Pure: one server's status line, e.g. "ready · 3 tools · last error: …". */
export function statusLine(s: McpServerStatus): string {
  const parts = [s.state, `${s.tools.length} tool${s.tools.length === 1 ? "" : "s"}`];
  if (s.restarts > 0) parts.push(`${s.restarts} restart${s.restarts === 1 ? "" : "s"}`);
  if (s.lastError) parts.push(`last error: ${s.lastError}`);
  return parts.join(" · ");
}

/** Pure: the `mcp` spec: per server its status line and a restart button (`restart:<name>`). */
export function mcpSpec(servers: readonly McpServerStatus[], region: string): SurfaceSpec {
  const fields: Field[] =
    servers.length === 0
      ? [{ kind: "stat", label: TITLE, value: "none configured" }]
      : servers.flatMap((s): Field[] => [
          { kind: "stat", label: `${s.name} (${s.transport})`, value: statusLine(s) },
          ...(s.state === "disabled"
            ? []
            : [
                {
                  kind: "button",
                  label: `Restart ${s.name}`,
                  action: { actionId: `restart:${s.name}` },
                } as Field,
              ]),
        ]);
  return { id: MCP_SURFACE_ID, region, title: TITLE, fields };
}

/** The global `mcp` surface. Actions: `restart:<name>`, or `restart` with payload `{ server }`. */
export function mcpSurface(servers: McpServers, region = "sidebar"): SurfaceProvider {
  return {
    catalogEntry: { id: MCP_SURFACE_ID, region, title: TITLE, scope: "global" },
    getSpec: () => mcpSpec(servers.list(), region),
    invoke(actionId, payload) {
      let name: string | undefined;
      if (actionId.startsWith("restart:")) name = actionId.slice("restart:".length);
      else if (actionId === "restart") {
        const p = (payload ?? {}) as { server?: unknown };
        if (typeof p.server !== "string") {
          throw new SurfaceActionError(
            "SURFACE_INVALID_PAYLOAD",
            'action "restart" needs a payload { server: string }',
          );
        }
        name = p.server;
      } else throw unknownAction(actionId);
      const r = servers.restart(name);
      if (!r.ok) throw new SurfaceActionError("SURFACE_ACTION_FAILED", r.error.message);
      return { server: name, restarting: true };
    },
    subscribe: (onChange) => servers.onChange(() => onChange()),
  };
}
