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
