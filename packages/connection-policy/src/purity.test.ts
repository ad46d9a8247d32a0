import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { purityViolations } from "@dispatch/testkit";

/**
 * The policy is pure: every source outside `io/` imports no `bun`, no Node built-in, no other package,
 * and touches neither `Bun` nor `process`, so every transport can run it and its tests need no I/O.
 * The lookups that need I/O live in `io/` (the `./io` entry point) and only they.
 */

const srcDir = import.meta.dir;
const pureSources = readdirSync(srcDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

describe("connection-policy purity", () => {
  test("every source outside io/ is pure", () => {
    expect(pureSources).toContain("connection-policy.ts");
    expect(pureSources).toContain("proc-net.ts");
    const problems = pureSources.flatMap((f) =>
      purityViolations(`connection-policy/src/${f}`, readFileSync(join(srcDir, f), "utf8")),
    );
    expect(problems).toEqual([]);
  });

  test("the io/ sources are the impure ones (the check would see them)", () => {
    const io = join(srcDir, "io");
    const impure = readdirSync(io)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .filter((f) => purityViolations(f, readFileSync(join(io, f), "utf8")).length > 0);
    expect(impure.sort()).toEqual(["browser-sessions.ts", "peer-owner.ts", "sock-diag.ts"]);
  });

  test("the package declares no runtime dependencies", async () => {
    const pkg = (await import("../package.json")).default as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
  });
});
