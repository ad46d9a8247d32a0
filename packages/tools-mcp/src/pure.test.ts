import { describe, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import { createToolRegistry } from "@dispatch/tools";
import { backoffMs } from "./backoff";
import { interpolate, interpolateAll, McpConfig } from "./config";
import { createMcpManager } from "./mcp";
import { exposedNames } from "./names";
import { toToolResult } from "./results";
import { mcpSpec, mcpSurface, statusLine } from "./surface";

const ref = (name: string) => ["$", "{", name, "}"].join("");

describe("names", () => {
  test("mcp__<server>__<tool>, provider-safe, at most 64 characters, unique", () => {
    expect(exposedNames("gh", ["list_issues", "get.file", "get/file"])).toEqual([
      "mcp__gh__list_issues",
      "mcp__gh__get_file",
      "mcp__gh__get_file_2",
    ]);
    const long = exposedNames("s", ["x".repeat(100), "x".repeat(101)]);
    expect(long.every((n) => n.length <= 64)).toBe(true);
    expect(new Set(long).size).toBe(2);
  });
});

describe("interpolation", () => {
  test("references from the environment; a doubled dollar is a literal; a missing variable is named", () => {
    expect(interpolate(`Bearer ${ref("T")}`, { T: "abc" })).toEqual({ ok: true, value: "Bearer abc" });
    expect(interpolate(`$${ref("T")}`, {})).toEqual({ ok: true, value: ref("T") });
    expect(interpolate(ref("NOPE"), {})).toEqual({ ok: false, missing: "NOPE" });
    expect(interpolateAll({ Authorization: ref("NOPE") }, "headers", {})).toEqual({
      ok: false,
      message: "headers.Authorization names NOPE, which is not set",
    });
  });
});

describe("results", () => {
  test("text joined, images and audio noted, resources and links shown, isError an error result", () => {
    expect(
      toToolResult(
        {
          content: [
            { type: "text", text: "a" },
            { type: "image", data: "AAAA", mimeType: "image/png" },
            { type: "resource", resource: { uri: "file:///x", text: "inner" } },
            { type: "resource_link", uri: "file:///y", name: "y" },
          ],
        },
        "t",
      ),
    ).toEqual({
      content: "a\n[image: image/png, 3 B]\ninner\n[resource link: file:///y (y)]",
      isError: false,
      images: [{ data: "AAAA", mimeType: "image/png" }],
    });
    const many = Array.from({ length: 6 }, () => ({ type: "image", data: "AAAA", mimeType: "image/png" }));
    expect(toToolResult({ content: many }, "t").images).toHaveLength(4);
    const html = { content: [{ type: "image", data: "AAAA", mimeType: "text/html" }] };
    expect(toToolResult(html, "t").images).toBeUndefined();
    expect(toToolResult({ content: [], structuredContent: { n: 1 } }, "t").content).toBe('{"n":1}');
    expect(toToolResult({ content: [{ type: "text", text: "bad" }], isError: true }, "t")).toEqual({
      content: "t failed: bad",
      isError: true,
      code: "TOOL_REMOTE_ERROR",
    });
  });
});

test("backoff doubles from 500 ms and stops at 30 s", () => {
  expect([1, 2, 3, 7, 20].map(backoffMs)).toEqual([500, 1000, 2000, 30_000, 30_000]);
});

describe("the mcp surface", () => {
  test("a line and a restart button per enabled server", () => {
    const spec = mcpSpec(
      [
        {
          name: "a",
          transport: "stdio",
          startup: "eager",
          state: "ready",
          tools: ["x"],
          restarts: 1,
          lastError: "boom",
        },
        { name: "b", transport: "http", startup: "lazy", state: "disabled", tools: [], restarts: 0 },
      ],
      "sidebar",
    );
    expect(spec.fields).toEqual([
      { kind: "stat", label: "a (stdio)", value: "ready · 1 tool · 1 restart · last error: boom" },
      { kind: "button", label: "Restart a", action: { actionId: "restart:a" } },
      { kind: "stat", label: "b (http)", value: "disabled · 0 tools" },
    ]);
    expect(
      statusLine({ name: "c", transport: "http", startup: "eager", state: "failed", tools: [], restarts: 0 }),
    ).toBe("failed · 0 tools");
  });

  test("restart of an unknown or disabled server is an action failure naming it", () => {
    const manager = createMcpManager({
      config: McpConfig.parse({ servers: { off: { command: "x", enabled: false } } }),
      registry: createToolRegistry(),
      env: {},
      logger: silentLogger,
      version: "0",
    });
    const surface = mcpSurface(manager);
    expect(surface.catalogEntry.scope).toBe("global");
    expect(() => surface.invoke("restart:nope")).toThrow(/no MCP server "nope"/);
    expect(() => surface.invoke("restart", { server: "off" })).toThrow(/disabled/);
    expect(() => surface.invoke("restart", {})).toThrow(/payload/);
    expect(() => surface.invoke("other")).toThrow(/unknown action/);
  });
});
