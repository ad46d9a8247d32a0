import type { Disposer } from "@dispatch/kernel";
import { type Tool, type ToolRegistry, ToolsError } from "./contract";

/** The in-memory ToolRegistry: one tool per name, registration order kept. */
export function createToolRegistry(): ToolRegistry {
  const tools = new Map<string, Tool>();
  return {
    register(tool: Tool): Disposer {
      if (tools.has(tool.name)) {
        throw new ToolsError(
          "TOOLS_DUPLICATE_TOOL",
          `a tool named "${tool.name}" is already registered; tool names must be unique`,
        );
      }
      tools.set(tool.name, tool);
      return () => {
        if (tools.get(tool.name) === tool) tools.delete(tool.name);
      };
    },
    list: () => [...tools.values()],
    get: (name) => tools.get(name),
  };
}
