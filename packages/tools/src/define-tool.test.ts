import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { ToolsError } from "./contract";
import { defineTool } from "./define-tool";
import { createToolRegistry } from "./registry";

const probe = defineTool({
  name: "probe",
  description: "test tool",
  parameters: Type.Object(
    {
      path: Type.String({ description: "a path" }),
      offset: Type.Optional(Type.Integer({ minimum: 1 })),
      mode: Type.Optional(Type.Union([Type.Literal("a"), Type.Literal("b")])),
    },
    { additionalProperties: false },
  ),
  permission: (args, cwd) => ({ kind: "read", paths: [`${cwd}/${args.path}`] }),
  execute: async (args) => ({ content: args.path, isError: false }),
});

describe("defineTool", () => {
  test("parameters is plain JSON Schema without TypeBox symbol keys", () => {
    expect(Object.getOwnPropertySymbols(probe.parameters)).toEqual([]);
    const props = probe.parameters.properties as Record<string, object>;
    expect(Object.getOwnPropertySymbols(props.offset ?? {})).toEqual([]);
    expect(probe.parameters).toMatchObject({
      type: "object",
      required: ["path"],
      additionalProperties: false,
      properties: { path: { type: "string", description: "a path" } },
    });
  });

  test("valid arguments pass through", () => {
    expect(probe.validate({ path: "a", offset: 2 })).toEqual({ ok: true, value: { path: "a", offset: 2 } });
  });

  test.each([
    [{ path: 1 }, "probe: /path must be string"],
    [{}, "probe: /path is required"],
    [{ path: "a", offset: 0 }, "probe: /offset must be >= 1"],
    [{ path: "a", offset: 1.5 }, "probe: /offset must be integer"],
    [{ path: "a", extra: true }, "probe: /extra is not an allowed property"],
    ["nope", "probe: arguments must be an object"],
    [null, "probe: arguments must be an object"],
  ])("invalid %j → %s", (args, message) => {
    expect(probe.validate(args)).toEqual({ ok: false, message });
  });

  test("a union mismatch names the field", () => {
    const r = probe.validate({ path: "a", mode: "c" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.startsWith("probe: /mode ")).toBe(true);
  });
});

describe("ToolRegistry", () => {
  test("register, list, get, dispose", () => {
    const reg = createToolRegistry();
    const dispose = reg.register(probe);
    expect(reg.get("probe")).toBe(probe);
    expect(reg.list().map((t) => t.name)).toEqual(["probe"]);
    dispose();
    expect(reg.get("probe")).toBeUndefined();
  });

  test("a duplicate name throws TOOLS_DUPLICATE_TOOL", () => {
    const reg = createToolRegistry();
    reg.register(probe);
    try {
      reg.register({ ...probe });
      throw new Error("expected a throw");
    } catch (e) {
      expect(e).toBeInstanceOf(ToolsError);
      expect((e as ToolsError).code).toBe("TOOLS_DUPLICATE_TOOL");
    }
  });
});
