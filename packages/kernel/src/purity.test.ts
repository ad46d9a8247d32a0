import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { purityViolations } from "@dispatch/testkit";

/**
 * The kernel performs no I/O and depends on no runtime: its sources may not import `bun`, any Node
 * built-in (with or without the `node:` prefix), or anything under apps/, nor touch the `Bun` or
 * `process` globals. Tests are exempt (this file reads the sources with node:fs). The rule itself
 * (testkit's purityViolations) is shared with the other pure packages.
 */

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
});
