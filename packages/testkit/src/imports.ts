/**
 * Import-rule checks for tests: what a source file imports, whether a pure file reaches for I/O, and
 * import cycles among a package's files. Reads nothing itself; the tests hand in the sources.
 */
import { builtinModules } from "node:module";
import { dirname, join, normalize } from "node:path";

const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));
const transpiler = new Bun.Transpiler({ loader: "ts" });

/**
 * The module specifiers a TS source imports, re-exports, requires or imports dynamically: what Bun's
 * parser finds (it drops type-only imports) plus what a text scan finds (type-only imports too).
 * `scan: "anywhere"` (the default, for purity: erring towards a violation) also matches import-like
 * text inside strings; `"statements"` matches only statements that start a line, so a test's sample
 * source in a template literal is not taken for an import of the test itself.
 */
export function importedSpecifiers(text: string, scan: "anywhere" | "statements" = "anywhere"): string[] {
  // A shebang line is no TS syntax for the parser.
  const source = text.replace(/^#!.*/, "");
  const patterns =
    scan === "statements"
      ? [/^\s*(?:import|export)\s[^'"]*?\bfrom\s*["']([^"']+)["']/gm, /^\s*import\s*["']([^"']+)["']/gm]
      : [
          /\b(?:import|export)\s[^'"]*?\bfrom\s*["']([^"']+)["']/g,
          /\bimport\s*["']([^"']+)["']/g,
          /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g,
        ];
  const scanned = patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1] ?? ""));
  const parsed = transpiler.scanImports(source).map((i) => i.path);
  return [...new Set([...scanned, ...parsed])];
}

/**
 * Why `source` (a file at `path`) is not pure, if it is not: a pure file imports no `bun`, no Node
 * built-in (with or without `node:`), nothing from apps/ and no other workspace package, and touches
 * neither the `Bun` nor the `process` global.
 */
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
      problems.push(`${path} imports "${spec}" (a pure package names no other package)`);
  }
  if (/\bBun\s*\./.test(source)) problems.push(`${path} uses the Bun global`);
  if (/\bprocess\s*\./.test(source)) problems.push(`${path} uses the process global`);
  return problems;
}

/**
 * The relative imports of each file, resolved to file names of the same map (`./x` → `dir/x.ts`,
 * `./x/index.ts` for a folder); imports of other packages are dropped.
 */
export function localImportGraph(sources: ReadonlyMap<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const targets = importedSpecifiers(source)
      .filter((s) => s.startsWith("./") || s.startsWith("../"))
      .map((s) => normalize(join(dirname(file), s)).replace(/\.ts$/, ""))
      .flatMap((base) => [`${base}.ts`, `${base}/index.ts`].filter((f) => sources.has(f)).slice(0, 1));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * Import cycles of a graph as paths (`a.ts → b.ts → a.ts`): the ones a depth-first walk meets, so at
 * least one whenever the graph has any (enough to fail a test; not every elementary cycle).
 */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    const at = stack.indexOf(node);
    if (at !== -1) {
      const loop = stack.slice(at);
      // Rotated so that the same cycle found from another node reads the same.
      const start = loop.indexOf([...loop].sort()[0] as string);
      const rotated = [...loop.slice(start), ...loop.slice(0, start)];
      cycles.add([...rotated, rotated[0]].join(" → "));
      return;
    }
    if (done.has(node)) return;
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) visit(node);
  return [...cycles];
}
