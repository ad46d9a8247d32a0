import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { importCycles, localImportGraph } from "@dispatch/testkit";

/**
 * No import cycle inside any package or app: two files that import each other (types included) call
 * each other both ways, which the house style rules out. Cycles between packages are ruled out by the
 * packages' dependencies as well (the workspace would accept such a loop, so it is checked here).
 */

const root = join(import.meta.dir, "..");

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.name === "node_modules" || d.name === "generated") return [];
    const full = join(dir, d.name);
    return d.isDirectory() ? sourcesOf(full) : d.name.endsWith(".ts") ? [full] : [];
  });
}

const units = ["packages", "apps"].flatMap((top) =>
  readdirSync(join(root, top), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(top, d.name)),
);

describe("import cycles", () => {
  test("no package or app has files that import each other, directly or around a loop", () => {
    expect(units).toContain("packages/session-orchestrator");
    const cycles = units.flatMap((unit) => {
      const dir = join(root, unit);
      const sources = new Map(sourcesOf(dir).map((f) => [relative(dir, f), readFileSync(f, "utf8")]));
      return importCycles(localImportGraph(sources)).map((c) => `${unit}: ${c}`);
    });
    expect(cycles).toEqual([]);
  });

  test("no two workspace packages depend on each other around a loop", async () => {
    const graph = new Map<string, string[]>();
    for (const unit of units) {
      const pkg = (await import(join(root, unit, "package.json"))).default as {
        name: string;
        dependencies?: Record<string, string>;
      };
      graph.set(
        pkg.name,
        Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@dispatch/")),
      );
    }
    expect(graph.size).toBe(units.length);
    expect(importCycles(graph)).toEqual([]);
  });
});
