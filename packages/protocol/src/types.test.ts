import { expect, test } from "bun:test";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** `@dispatch/protocol/types` must stay free for frontend bundles: no runtime import, no zod. */
test("types.ts imports nothing at runtime and exports no values", async () => {
  const source = await readFile(join(import.meta.dir, "types.ts"), "utf8");
  expect(new Bun.Transpiler({ loader: "ts" }).scanImports(source)).toEqual([]);
  expect(source).not.toMatch(/from\s+["']zod["']/);
  expect(Object.keys(await import("./types"))).toEqual([]);
});

/**
 * Bundles a browser consumer of `specifier` (resolved through the package's `exports`, as a frontend
 * would) and returns the bundle's input files, relative to this package.
 */
async function bundledInputs(specifier: string): Promise<string[]> {
  // A virtual entry beside this file, so the package name resolves through the workspace.
  const entry = join(import.meta.dir, "virtual-frontend-entry.ts");
  const result = await Bun.build({
    entrypoints: [entry],
    files: { [entry]: `import * as protocol from "${specifier}";\nconsole.log(protocol);\n` },
    target: "browser",
    metafile: true,
  });
  if (!result.success || result.metafile === undefined) {
    throw new Error(`bundling ${specifier} failed: ${result.logs.map(String).join("\n")}`);
  }
  return Object.keys(result.metafile.inputs);
}

test("a frontend bundle of @dispatch/protocol/types contains no zod (a bundle of the schemas does)", async () => {
  const typesInputs = await bundledInputs("@dispatch/protocol/types");
  expect(typesInputs.filter((path) => path.includes("node_modules"))).toEqual([]);
  expect(typesInputs.filter((path) => path.endsWith("src/types.ts"))).toHaveLength(1);
  // the control: the same check sees zod when it is there
  const schemaInputs = await bundledInputs("@dispatch/protocol/schemas");
  expect(schemaInputs.some((path) => /node_modules\/.*\bzod\//.test(path))).toBe(true);
});

test("limits.ts imports nothing, so the caps can be used without zod too", async () => {
  const source = await readFile(join(import.meta.dir, "limits.ts"), "utf8");
  expect(new Bun.Transpiler({ loader: "ts" }).scanImports(source)).toEqual([]);
});

test("every schema file is covered by the compile-time type checks", async () => {
  const checks = await readFile(join(import.meta.dir, "schemas", "type-checks.ts"), "utf8");
  const files = (await readdir(join(import.meta.dir, "schemas"))).filter((f) => f !== "type-checks.ts");
  for (const file of files) {
    const source = await readFile(join(import.meta.dir, "schemas", file), "utf8");
    for (const [, name] of source.matchAll(/export const (\w+Schema) = named\(/g)) {
      expect({ name, checked: checks.includes(`typeof S.${name}>`) }).toEqual({ name, checked: true });
    }
  }
});
