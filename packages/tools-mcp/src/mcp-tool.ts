/**
 * An MCP server's tool as a Dispatch Tool: offered as `mcp__<server>__<tool>` with the server's JSON
 * Schema, its arguments checked against that schema (the SDK's Ajv validator) before the call, and
 * gated as kind "mcp" with the server's configured default.
 */

import type { PermissionSubject, Tool, ToolContext, ToolResult, Validation } from "@dispatch/tools/contract";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaType } from "@modelcontextprotocol/sdk/validation/types.js";
import type { RemoteTool } from "./connection";

const validator = new AjvJsonSchemaValidator();

export interface McpToolTarget {
  readonly name: string;
  call(tool: string, exposed: string, args: unknown, signal: AbortSignal): Promise<ToolResult>;
}

/** Pure-ish: the Tool for `remote` of `server`; compiling its schema happens on the first validation. */
export function mcpTool(
  server: McpToolTarget,
  remote: RemoteTool,
  exposed: string,
  defaultAction: NonNullable<PermissionSubject["defaultAction"]>,
): Tool {
  const parameters: Record<string, unknown> = { type: "object", ...remote.inputSchema };
  let check: ((args: unknown) => Validation<unknown>) | undefined;
  const compile = (): ((args: unknown) => Validation<unknown>) => {
    try {
      const v = validator.getValidator<unknown>(parameters as JsonSchemaType);
      return (args) => {
        const r = v(args);
        return r.valid ? { ok: true, value: args } : { ok: false, message: `${exposed}: ${r.errorMessage}` };
      };
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return () => ({ ok: false, message: `${exposed}: the server's input schema is invalid: ${why}` });
    }
  };
  return {
    name: exposed,
    description: `[MCP server ${server.name}] ${remote.description ?? remote.name}`,
    parameters,
    validate(args) {
      check ??= compile();
      return check(args ?? {});
    },
    permission: () => ({ kind: "mcp", defaultAction }),
    execute: (args: unknown, ctx: ToolContext) => server.call(remote.name, exposed, args, ctx.signal),
  };
}
