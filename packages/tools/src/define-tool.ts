/**
 * `defineTool`: one TypeBox schema is both the JSON Schema sent to the model and, compiled, the
 * validator of the model's arguments.
 */

import type { Static, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import type { PermissionSubject, Tool, ToolContext, ToolResult, Validation } from "./contract";

export interface ToolDefinition<S extends TSchema> {
  name: string;
  description: string;
  parameters: S;
  exclusive?: boolean;
  permission(args: Static<S>, cwd: string): PermissionSubject;
  execute(args: Static<S>, ctx: ToolContext): Promise<ToolResult>;
}

export function defineTool<S extends TSchema>(def: ToolDefinition<S>): Tool<Static<S>> {
  // Compiled on the first call: a boot defines every tool, and compiling them all there cost
  // ~18 ms of every daemon start for validators most runs never use.
  let compiled: TypeCheck<S> | undefined;
  const tool: Tool<Static<S>> = {
    name: def.name,
    description: def.description,
    parameters: toJsonSchema(def.parameters),
    validate(args: unknown): Validation<Static<S>> {
      compiled ??= TypeCompiler.Compile(def.parameters);
      if (compiled.Check(args)) return { ok: true, value: args };
      const first = compiled.Errors(args).First();
      return {
        ok: false,
        message: `${def.name}: ${first ? describeValueError(first) : "invalid arguments"}`,
      };
    },
    permission: (args, cwd) => def.permission(args, cwd),
    execute: (args, ctx) => def.execute(args, ctx),
  };
  if (def.exclusive !== undefined) tool.exclusive = def.exclusive;
  return tool;
}

/** Pure: a plain JSON copy of a TypeBox schema (JSON drops TypeBox's symbol keys such as [Kind]). */
export function toJsonSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

/** Pure: "<path> <problem>", e.g. "/path must be string", "/offset must be >= 1". */
export function describeValueError(e: ValueError): string {
  const where = e.path === "" ? "arguments" : e.path;
  const s = e.schema as Record<string, unknown>;
  const problem = (() => {
    switch (e.type) {
      case ValueErrorType.ObjectRequiredProperty:
        return "is required";
      case ValueErrorType.ObjectAdditionalProperties:
        return "is not an allowed property";
      case ValueErrorType.Object:
        return "must be an object";
      case ValueErrorType.Array:
        return "must be an array";
      case ValueErrorType.String:
      case ValueErrorType.Number:
      case ValueErrorType.Integer:
      case ValueErrorType.Boolean:
        return `must be ${String(s.type)}`;
      case ValueErrorType.StringMinLength:
        return `must be at least ${String(s.minLength)} character(s) long`;
      case ValueErrorType.StringMaxLength:
        return `must be at most ${String(s.maxLength)} characters long`;
      case ValueErrorType.NumberMinimum:
      case ValueErrorType.IntegerMinimum:
        return `must be >= ${String(s.minimum)}`;
      case ValueErrorType.NumberMaximum:
      case ValueErrorType.IntegerMaximum:
        return `must be <= ${String(s.maximum)}`;
      case ValueErrorType.ArrayMinItems:
        return `must have at least ${String(s.minItems)} item(s)`;
      case ValueErrorType.ArrayMaxItems:
        return `must have at most ${String(s.maxItems)} items`;
      case ValueErrorType.Literal:
        return `must be ${JSON.stringify(s.const)}`;
      case ValueErrorType.Union:
        return "does not match any allowed form";
      default:
        return e.message.replace(/^Expected/, "must be");
    }
  })();
  return `${where} ${problem}`;
}
