import { describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { httpRoutes } from "./http-routes";
import { generatedFiles, type JsonValue, openApiDocument, protocolJsonSchema } from "./json-schema";
import { clientMessageSchemas } from "./schemas/client";
import { serverMessageSchemas } from "./schemas/server";

const generatedDir = join(import.meta.dir, "..", "generated");

/** Every `$ref` string in a document. */
function refs(value: JsonValue, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refs(item, out);
  else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") out.push(child);
      else refs(child, out);
    }
  }
  return out;
}

/** Follows a local JSON pointer such as `#/components/schemas/AgentEvent`. */
function resolve(doc: JsonValue, ref: string): JsonValue | undefined {
  let node: JsonValue | undefined = doc;
  for (const key of ref.replace(/^#\//, "").split("/")) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    node = node[key];
  }
  return node;
}

describe("generated files", () => {
  test("the committed files equal freshly generated output (run `bun run gen:schemas` if not)", async () => {
    for (const [name, content] of Object.entries(generatedFiles())) {
      const committed = await readFile(join(generatedDir, name), "utf8");
      expect({ name, content: committed }).toEqual({ name, content });
    }
  });

  test("generation is deterministic and ends with a newline", () => {
    const a = generatedFiles();
    const b = generatedFiles();
    expect(a).toEqual(b);
    for (const content of Object.values(a)) expect(content.endsWith("}\n")).toBe(true);
  });
});

describe("protocolJsonSchema", () => {
  const doc = protocolJsonSchema();
  const defs = doc.$defs as Record<string, JsonValue>;

  test("defines every client and server message by its type name", () => {
    for (const type of [...Object.keys(clientMessageSchemas), ...Object.keys(serverMessageSchemas)]) {
      const id = Object.keys(defs).find((key) => {
        const def = defs[key] as { properties?: { type?: { const?: string } } };
        return def.properties?.type?.const === type;
      });
      expect({ type, found: id !== undefined }).toEqual({ type, found: true });
    }
    expect(Object.keys(defs)).toContain("AgentEvent");
  });

  test("every $ref resolves", () => {
    for (const ref of refs(doc))
      expect({ ref, ok: resolve(doc, ref) !== undefined }).toEqual({ ref, ok: true });
  });
});

describe("openApiDocument", () => {
  const doc = openApiDocument({ version: "9.9.9" });

  test("is OpenAPI 3.1 with the requested version", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect((doc.info as { version: string }).version).toBe("9.9.9");
  });

  test("describes every route with unique operation ids and declared path parameters", () => {
    const paths = doc.paths as Record<
      string,
      Record<string, { operationId: string; parameters?: { name: string; in: string }[] }>
    >;
    const ids = new Set<string>();
    for (const route of httpRoutes) {
      const op = paths[route.path]?.[route.method];
      expect({ route: `${route.method} ${route.path}`, found: op !== undefined }).toEqual({
        route: `${route.method} ${route.path}`,
        found: true,
      });
      if (op === undefined) continue;
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      const inTemplate = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(declared).toEqual(inTemplate as string[]);
    }
  });

  test("covers the §6 endpoints", () => {
    const paths = Object.keys(doc.paths as object);
    for (const path of [
      "/health",
      "/models",
      "/chat",
      "/conversations",
      "/conversations/{id}",
      "/conversations/{id}/status",
      "/conversations/{id}/open",
      "/conversations/{id}/stop",
      "/conversations/{id}/close",
      "/conversations/{id}/queue",
      "/conversations/{id}/queue/{messageId}",
      "/conversations/{id}/model",
      "/conversations/{id}/title",
      "/conversations/{id}/cwd",
      "/conversations/{id}/reasoning-effort",
      "/conversations/{id}/compact",
      "/conversations/{id}/permissions/{requestId}",
      "/openapi.json",
      "/protocol.json",
    ]) {
      expect(paths).toContain(path);
    }
  });

  test("every $ref resolves", () => {
    for (const ref of refs(doc))
      expect({ ref, ok: resolve(doc, ref) !== undefined }).toEqual({ ref, ok: true });
  });
});
