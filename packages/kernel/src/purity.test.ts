import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";

/**
 * The kernel performs no I/O and depends on no runtime: its sources may not import `bun`, any Node
 * built-in (with or without the `node:` prefix), or anything under apps/, nor touch the `Bun` or
 * `process` globals. Tests are exempt (this file reads the sources with node:fs).
 */

const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));
const transpiler = new Bun.Transpiler({ loader: "ts" });

/**
 * The module specifiers a TS source imports, re-exports, requires or imports dynamically: what Bun's
 * parser finds (it drops type-only imports) plus what a text scan finds (type-only imports too).
 */
export function importedSpecifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  const scanned = patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1] ?? ""));
  const parsed = transpiler.scanImports(source).map((i) => i.path);
  return [...new Set([...scanned, ...parsed])];
}

/** Why `source` (a file at `path`, relative to the repo root) breaks kernel purity, if it does. */
export function purityViolations(path: string, source: string): string[] {
  const problems: string[] = [];
  for (const spec of importedSpecifiers(source)) {
    const bare = spec.replace(/^node:/, "").split("/")[0] ?? "";
    if (spec === "bun" || spec.startsWith("bun:")) problems.push(`${path} imports "${spec}" (a Bun API)`);
    else if (spec.startsWith("node:") || builtins.has(bare))
      problems.push(`${path} imports "${spec}" (Node I/O)`);
    else if (
      /(^|\/)apps\//.test(spec) ||
      spec.startsWith("@dispatch/daemon") ||
      spec.startsWith("@dispatch/cli")
    ) {
      problems.push(`${path} imports "${spec}" (from apps/)`);
    } else if (spec.startsWith("@dispatch/"))
      problems.push(`${path} imports "${spec}" (the kernel names no feature)`);
  }
  if (/\bBun\s*\./.test(source)) problems.push(`${path} uses the Bun global`);
  if (/\bprocess\s*\./.test(source)) problems.push(`${path} uses the process global`);
  return problems;
}

function kernelSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = join(dir, d.name);
    if (d.isDirectory()) return kernelSources(full);
    return d.name.endsWith(".ts") && !d.name.endsWith(".test.ts") ? [full] : [];
  });
}

describe("kernel purity", () => {
  test("the kernel package declares no dependencies", async () => {
    const pkg = await import("../package.json");
    for (const key of ["dependencies", "peerDependencies", "optionalDependencies"] as const) {
      expect({ key, deps: Object.keys(pkg.default[key as keyof typeof pkg.default] ?? {}) }).toEqual({
        key,
        deps: [],
      });
    }
  });

  test("no source file in packages/kernel/src imports bun, node or apps", () => {
    const srcDir = import.meta.dir;
    const files = kernelSources(srcDir);
    expect(files.map((f) => relative(srcDir, f))).toContain("host.ts");
    const problems = files.flatMap((f) =>
      purityViolations(relative(join(srcDir, "../../.."), f), readFileSync(f, "utf8")),
    );
    expect(problems).toEqual([]);
  });

  test("the check catches each kind of violation", () => {
    const bad = [
      `import { serve } from "bun";`,
      `import { Database } from "bun:sqlite";`,
      `import { readFileSync } from "node:fs";`,
      `import * as path from "path";`,
      `export { x } from "../../../apps/daemon/src/main";`,
      `const m = await import("node:child_process");`,
      `import "fs/promises";`,
      `const f = Bun.file("x");`,
      `process.exit(1);`,
      `import type { Store } from "@dispatch/conversation-store";`,
      // forms the text scan misses and the parser catches
      'import { readFile /* it\'s async */ } from "node:fs/promises";',
      "const sqlite = await import(`bun:sqlite`);",
    ];
    for (const line of bad) expect(purityViolations("x.ts", line)).toHaveLength(1);
    expect(
      purityViolations(
        "x.ts",
        `import { once } from "./scope";\nimport type { Disposer } from "./contract";`,
      ),
    ).toEqual([]);
  });
});
