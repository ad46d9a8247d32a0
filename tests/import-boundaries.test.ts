import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { importedSpecifiers } from "@dispatch/testkit";

/**
 * Boundaries that hold. Every workspace package (packages/*, apps/*) is reached only through the entry
 * points its package.json declares ("." = index.ts or, for a package that offers only its extension, extension.ts; contract, extension, test-support, and the few
 * deliberate extras listed below), whether by name or by a relative path; and an extension's code
 * (tests and fixtures aside) reaches another extension only through its contract: the handles,
 * interfaces, events and error codes, never its implementation.
 */

const root = join(import.meta.dir, "..");
const ROLE_ENTRIES = ["contract", "extension", "test-support"] as const;
/**
 * Entry points beyond the roles, each on purpose: protocol's zod-free wire types and levels (for
 * frontends and pure cores) and its example corpus,
 * connection-policy's I/O half (who owns a peer socket), kept apart from its pure rules.
 */
const EXTRA_ENTRIES: Record<string, readonly string[]> = {
  "@dispatch/protocol": ["./types", "./levels", "./schemas", "./examples"],
  "@dispatch/connection-policy": ["./io"],
  // What the CLI loads on every run, without the daemon's extensions (CLI start-up time).
  "@dispatch/daemon": ["./cli"],
};

export interface Unit {
  name: string;
  /** Folder relative to the repo root, e.g. "packages/kernel". */
  dir: string;
  /** Subpath → file relative to the repo root, e.g. "./contract" → "packages/kernel/src/contract.ts". */
  entries: Map<string, string>;
  isExtension: boolean;
}

/** Tests, test helpers and fixtures may use implementations; everything else is held to the contract. */
export function isTestCode(path: string): boolean {
  return /\.test\.ts$|test-support\.ts$|-fixture\.ts$|\/fixtures\//.test(path);
}

/** The unit a repo-relative path lies in, if any. */
function unitOf(units: readonly Unit[], path: string): Unit | undefined {
  return units.find((u) => path.startsWith(`${u.dir}/`));
}

/** A relative specifier resolved to a repo-relative .ts file (or what it would be). */
function resolveRelative(from: string, spec: string): string {
  const base = relative(root, resolve(root, dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (candidate.endsWith(".ts") && existsSync(join(root, candidate))) return candidate;
  }
  return base.endsWith(".ts") ? base : `${base}.ts`;
}

/**
 * Pure: why the file at `path` (repo-relative) breaks a boundary by importing `spec`, or undefined.
 * `units` describes the workspace.
 */
export function boundaryViolation(units: readonly Unit[], path: string, spec: string): string | undefined {
  const from = unitOf(units, path);
  let target: Unit | undefined;
  let entry: string | undefined;
  if (spec.startsWith("@dispatch/")) {
    const [scope, name, ...rest] = spec.split("/");
    target = units.find((u) => u.name === `${scope}/${name}`);
    if (!target) return `${path} imports "${spec}", which is no workspace package`;
    const sub = rest.length === 0 ? "." : `./${rest.join("/")}`;
    if (!target.entries.has(sub)) {
      return `${path} imports "${spec}": ${target.name} declares no entry point "${sub}" (use ${[...target.entries.keys()].join(", ")})`;
    }
    entry = sub;
  } else if (spec.startsWith(".")) {
    const file = resolveRelative(path, spec);
    target = unitOf(units, file);
    if (!target || target === from) return undefined;
    if (from)
      return `${path} imports "${spec}": a package names another package (${target.name}), not its files`;
    entry = [...target.entries].find(([, f]) => f === file)?.[0];
    if (!entry) return `${path} imports "${spec}", a file inside ${target.name} that is no entry point`;
  } else return undefined;
  if (
    from?.isExtension &&
    target.isExtension &&
    from !== target &&
    !isTestCode(path) &&
    entry !== "./contract"
  ) {
    return `${path} imports "${spec}": an extension reaches another extension (${target.name}) only through "${target.name}/contract"`;
  }
  return undefined;
}

function readUnits(): Unit[] {
  return ["packages", "apps"].flatMap((top) =>
    readdirSync(join(root, top), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, top, d.name, "package.json")))
      .map((d) => {
        const dir = `${top}/${d.name}`;
        const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
          name: string;
          exports?: Record<string, string>;
        };
        const entries = new Map(
          Object.entries(pkg.exports ?? {}).map(([k, v]) => [k, join(dir, v)] as [string, string]),
        );
        return { name: pkg.name, dir, entries, isExtension: existsSync(join(root, dir, "src/extension.ts")) };
      }),
  );
}

function sourcesOf(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.name === "node_modules" || d.name === "generated" || d.name.startsWith(".")) return [];
    const full = join(dir, d.name);
    return d.isDirectory() ? sourcesOf(full) : d.name.endsWith(".ts") ? [full] : [];
  });
}

const units = readUnits();

describe("import boundaries", () => {
  test("each package exports index, its role files and the deliberate extras, nothing else", () => {
    expect(units.map((u) => u.name)).toContain("@dispatch/kernel");
    for (const u of units) {
      const expected = [
        ".",
        ...ROLE_ENTRIES.filter((r) => existsSync(join(root, u.dir, "src", `${r}.ts`))).map((r) => `./${r}`),
        ...(EXTRA_ENTRIES[u.name] ?? []),
      ];
      expect({ pkg: u.name, entries: [...u.entries.keys()].sort() }).toEqual({
        pkg: u.name,
        entries: expected.sort(),
      });
      for (const file of u.entries.values())
        expect({ file, exists: existsSync(join(root, file)) }).toEqual({ file, exists: true });
    }
  });

  test("no file in packages/, apps/, tests/, bench/ or scripts/ reaches past an entry point", () => {
    const files = ["packages", "apps", "tests", "bench", "scripts"].flatMap((d) => sourcesOf(join(root, d)));
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => {
      const path = relative(root, f);
      return importedSpecifiers(readFileSync(f, "utf8"), "statements").flatMap((spec) => {
        const problem = boundaryViolation(units, path, spec);
        return problem === undefined ? [] : [problem];
      });
    });
    expect(found).toEqual([]);
  });

  test("the check catches each kind of violation", () => {
    const cases: [string, string][] = [
      ["packages/transport-http/src/server.ts", "@dispatch/transport-ws/router"],
      ["apps/cli/src/run.ts", "@dispatch/daemon/color"],
      ["bench/x.ts", "../packages/conversation-store/src/statements"],
      ["packages/tools/src/x.ts", "../../conversation-store/src/contract.ts"],
      ["packages/tools/src/extension.ts", "@dispatch/conversation-store"],
      ["packages/session-orchestrator/src/orchestrator.ts", "@dispatch/providers/extension"],
      ["packages/kernel/src/host.ts", "@dispatch/no-such-package"],
      ["packages/transport-http/src/extension.ts", "@dispatch/transport-ws"],
      ["packages/tools/src/extension.ts", "@dispatch/metrics/extension"],
      ["packages/transport-ws/src/connection-metrics.ts", "@dispatch/metrics"],
      ["packages/transport-http/src/api.ts", "@dispatch/session-orchestrator"],
    ];
    for (const [path, spec] of cases)
      expect({ path, spec, bad: boundaryViolation(units, path, spec) !== undefined }).toEqual({
        path,
        spec,
        bad: true,
      });
    const fine: [string, string][] = [
      ["packages/tools/src/extension.ts", "@dispatch/conversation-store/contract"],
      ["packages/tools/src/x.test.ts", "@dispatch/conversation-store"],
      ["packages/provider-local/src/local.ts", "@dispatch/providers"],
      ["apps/daemon/src/extensions.ts", "@dispatch/tools/extension"],
      ["bench/x.ts", "../packages/kernel/src/index"],
      ["packages/tools/src/x.ts", "./define-tool"],
      ["packages/tools/src/x.ts", "@sinclair/typebox"],
    ];
    for (const [path, spec] of fine)
      expect({ path, spec, problem: boundaryViolation(units, path, spec) }).toEqual({
        path,
        spec,
        problem: undefined,
      });
    // A package that offers only its extension points "." at extension.ts: still its implementation.
    const ext = "packages/transport-x/src/extension.ts";
    const withX: Unit[] = [
      ...units,
      {
        name: "@dispatch/transport-x",
        dir: "packages/transport-x",
        entries: new Map([
          [".", ext],
          ["./extension", ext],
        ]),
        isExtension: true,
      },
    ];
    expect(
      boundaryViolation(withX, "packages/transport-http/src/server.ts", "@dispatch/transport-x"),
    ).toBeString();
    expect(
      boundaryViolation(withX, "apps/daemon/src/extensions.ts", "@dispatch/transport-x"),
    ).toBeUndefined();
    // A sample source inside a string is no import of the file holding it.
    const sample = 'const s = `import { x } from "@dispatch/daemon/color";`;\nimport type { A } from "a/b";';
    expect(importedSpecifiers(sample, "statements")).toEqual(["a/b"]);
  });
});
