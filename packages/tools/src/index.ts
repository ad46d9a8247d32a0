export * from "./contract";
export { defineTool, describeValueError, type ToolDefinition, toJsonSchema } from "./define-tool";
export { createToolRegistry } from "./registry";
