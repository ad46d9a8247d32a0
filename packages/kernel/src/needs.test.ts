import { describe, expect, test } from "bun:test";
import { defineService, type Manifest } from "./contract";
import { planActivation } from "./graph";
import { createHost } from "./host";
import { resolveNeeds } from "./needs";

const Store = defineService<{ n: number }>("test/store");
const Catalog = defineService<{ m: string }>("test/catalog");
const m = (id: string, more: Partial<Manifest> = {}): Manifest => ({ id, version: "1.0.0", ...more });

describe("dependencies by service handle", () => {
  test("a need becomes a dependency on the extension that provides the handle", () => {
    const r = planActivation([
      m("orchestrator", { needs: [Store], optionalNeeds: [Catalog] }),
      m("catalog", { provides: [Catalog] }),
      m("store", { provides: [Store] }),
    ]);
    expect(r).toEqual({ ok: true, order: ["catalog", "store", "orchestrator"] });
  });

  test("resolving names providers once, never the extension itself, and keeps explicit ids", () => {
    const r = resolveNeeds([
      m("a", { provides: [Store], needs: [Store, Store], dependsOn: ["x"] }),
      m("x", { needs: [Store], optionalNeeds: [Store, Catalog] }),
    ]);
    if (!r.ok) throw r.error;
    expect(r.manifests.map((x) => [x.id, x.dependsOn, x.optionalDependsOn])).toEqual([
      ["a", ["x"], undefined],
      ["x", ["a"], undefined],
    ]);
  });

  test("a required service nothing provides fails the plan, naming every one", () => {
    const r = planActivation([
      m("a", { needs: [Store] }),
      m("b", { needs: [Catalog], optionalNeeds: [Store] }),
    ]);
    if (r.ok) throw new Error("expected a graph error");
    expect(r.error.code).toBe("KERNEL_MISSING_DEPENDENCY");
    expect(r.error.extensionId).toBe("a");
    expect(r.error.message).toContain('"test/store"');
    expect(r.error.message).toContain('"test/catalog"');
  });

  test("an optional service nothing provides is ignored", () => {
    expect(planActivation([m("a", { optionalNeeds: [Store] })])).toEqual({ ok: true, order: ["a"] });
  });

  test("two providers of one handle, or a need that is no handle, fail the plan", () => {
    const twice = planActivation([m("a", { provides: [Store] }), m("b", { provides: [Store] })]);
    expect(twice.ok ? undefined : twice.error.code).toBe("KERNEL_DUPLICATE_SERVICE");
    const bogus = planActivation([m("a", { needs: ["test/store" as never] })]);
    expect(bogus.ok ? undefined : bogus.error.code).toBe("KERNEL_INVALID_MANIFEST");
  });

  test("a needed provider that fails to activate skips the extensions that need it", async () => {
    const host = createHost({
      extensions: [
        {
          manifest: m("user", { needs: [Store] }),
          activate: (ctx) => void ctx.get(Store),
        },
        {
          manifest: m("store", { provides: [Store] }),
          activate() {
            throw new Error("disk full");
          },
        },
      ],
    });
    const report = await host.start();
    expect(report.active).toEqual([]);
    expect(report.disabled.map((d) => [d.id, d.code]).sort()).toEqual([
      ["store", "KERNEL_ACTIVATION_FAILED"],
      ["user", "KERNEL_DEPENDENCY_FAILED"],
    ]);
    await host.stop();
  });

  test("provides is a promise: providing an unlisted handle, or not a listed one, fails activation", async () => {
    const host = createHost({
      extensions: [
        {
          manifest: m("sneaky", { provides: [Store] }),
          activate: (ctx) => void ctx.provide(Catalog, { m: "x" }),
        },
        { manifest: m("idle", { provides: [Catalog] }), activate() {} },
      ],
    });
    const report = await host.start();
    const reasons = Object.fromEntries(report.disabled.map((d) => [d.id, [d.code, d.reason]]));
    expect(reasons.sneaky?.[0]).toBe("KERNEL_ACTIVATION_FAILED");
    expect(reasons.sneaky?.[1]).toContain('provided service "test/catalog"');
    expect(reasons.idle?.[0]).toBe("KERNEL_ACTIVATION_FAILED");
    expect(reasons.idle?.[1]).toContain('"test/catalog"');
    expect(host.tryGet(Catalog)).toBeUndefined();
    await host.stop();

    await using ok = createHost({
      extensions: [
        {
          manifest: m("honest", { provides: [Store] }),
          activate: (ctx) => void ctx.provide(Store, { n: 1 }),
        },
      ],
    });
    expect((await ok.start()).active).toEqual(["honest"]);
  });
});
