import { describe, expect, test } from "bun:test";
import { importCycles, localImportGraph, purityViolations } from "./imports";

describe("purityViolations", () => {
  test("catches each kind of violation", () => {
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

describe("import cycles", () => {
  test("relative imports resolve to files and folders of the map; packages are dropped", () => {
    const graph = localImportGraph(
      new Map([
        ["a.ts", `import { b } from "./b";\nimport type { C } from "./io";\nimport { z } from "zod";`],
        ["b.ts", `export const b = 1;`],
        ["io/index.ts", `export * from "../b.ts";`],
      ]),
    );
    expect(Object.fromEntries(graph)).toEqual({
      "a.ts": ["b.ts", "io/index.ts"],
      "b.ts": [],
      "io/index.ts": ["b.ts"],
    });
    expect(importCycles(graph)).toEqual([]);
  });

  test("a type-only import closes a cycle too, reported once with its path", () => {
    const graph = localImportGraph(
      new Map([
        ["orchestrator.ts", `import { TurnLifecycle } from "./turn-lifecycle";`],
        ["turn-lifecycle.ts", `import type { OrchestratorDeps } from "./orchestrator";`],
        ["self.ts", `export * from "./self";`],
      ]),
    );
    expect(importCycles(graph).sort()).toEqual([
      "orchestrator.ts → turn-lifecycle.ts → orchestrator.ts",
      "self.ts → self.ts",
    ]);
  });

  test("a longer cycle names every file on it", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
    ]);
    expect(importCycles(graph)).toEqual(["a.ts → b.ts → c.ts → a.ts"]);
  });
});
