import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { importedSpecifiers, purityViolations } from "@dispatch/testkit";

/**
 * The core is pure: no source imports `bun` or a Node built-in, or touches `Bun` or `process`. The
 * decision (core.ts) and its vocabulary (contract.ts) name only the protocol and the pure channel
 * patterns (@dispatch/event-streams); the interpreter
 * (run-effects.ts) and the reads (reads.ts: settings shapes) name the service contracts, only for types.
 */

const srcDir = import.meta.dir;
const sources = readdirSync(srcDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
const protocol = /^@dispatch\/(protocol(\/(levels|types))?|event-streams)$/;
const services = new Set(["@dispatch/session-orchestrator", "@dispatch/surface-registry"]);
const typed = new Set(["run-effects.ts", "reads.ts", "read-contract.ts"]);
const read = (f: string) => readFileSync(join(srcDir, f), "utf8");

describe("operations purity", () => {
  test("no I/O, no runtime, and only the protocol (plus service types for the interpreter)", () => {
    expect(sources).toEqual(expect.arrayContaining(["core.ts", "contract.ts", "run-effects.ts"]));
    const problems = sources.flatMap((f) => {
      const allowed = (spec: string) => protocol.test(spec) || (typed.has(f) && services.has(spec));
      const named = importedSpecifiers(read(f)).filter((s) => s.startsWith("@dispatch/") && !allowed(s));
      const other = purityViolations(`operations/src/${f}`, read(f)).filter(
        (p) => !p.includes("names no other package"),
      );
      return [...named.map((s) => `${f} imports "${s}"`), ...other];
    });
    expect(problems).toEqual([]);
  });

  test("the interpreter and the reads import the service packages for types only", () => {
    for (const f of typed) {
      const runtime = new Bun.Transpiler({ loader: "ts" }).scanImports(read(f)).map((i) => i.path);
      expect(runtime.filter((s) => services.has(s))).toEqual([]);
    }
  });
});
