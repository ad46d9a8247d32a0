import { describe, expect, test } from "bun:test";
import { createHost, type Extension, type ExtensionContext } from "@dispatch/kernel";
import { LOADED_EXTENSIONS_SURFACE_ID, type Result, SurfaceRegistry, type SurfaceSpec } from "./contract";
import { surfaceRegistryExtension } from "./extension";
import { describeExtension, formatMs } from "./loaded-extensions";

const base = { region: "panel", title: "Note" };

/** An extension that registers a global "note" surface, then optionally fails. */
function noteExtension(id: string, opts: { dependsOn?: string[]; fail?: string } = {}): Extension {
  return {
    manifest: { id, version: "2.0.0", dependsOn: opts.dependsOn ?? ["surface-registry"] },
    activate(ctx: ExtensionContext) {
      const registry = ctx.get(SurfaceRegistry);
      ctx.scope.add(
        registry.register({
          catalogEntry: { id: `${id}-note`, ...base, scope: "global" },
          getSpec: () => ({ id: `${id}-note`, ...base, fields: [] }),
          invoke: () => "ok",
        }),
      );
      if (opts.fail) throw new Error(opts.fail);
    },
  };
}

/**
 * An extension that records every spec change of every surface from its activation on and, like a
 * transport, fetches the spec of loaded-extensions on each change (`states`: the state word per row).
 */
function watcher(changes: string[], states: Promise<string>[] = []): Extension {
  return {
    manifest: { id: "watcher", version: "1.0.0", dependsOn: ["surface-registry"] },
    activate(ctx) {
      const registry = ctx.get(SurfaceRegistry);
      const off = registry.onSpecChanged((surfaceId) => {
        changes.push(surfaceId);
        if (surfaceId !== LOADED_EXTENSIONS_SURFACE_ID) return;
        const spec = registry.getSpec(surfaceId);
        states.push(
          spec.then((r) =>
            Object.values(rows(value(r)))
              .map((row) => row.split(/[ :]/)[0])
              .join(","),
          ),
        );
      });
      ctx.scope.add(off);
    },
  };
}

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function rows(spec: SurfaceSpec): Record<string, string> {
  return Object.fromEntries(spec.fields.map((f) => (f.kind === "stat" ? [f.label, f.value] : [f.kind, ""])));
}

describe("surfaceRegistryExtension in a real host", () => {
  test("provides the registry; loaded-extensions lists every extension and follows disabling", async () => {
    const changes: string[] = [];
    const states: Promise<string>[] = [];
    await using host = createHost({
      extensions: [
        surfaceRegistryExtension(),
        watcher(changes, states),
        noteExtension("good"),
        noteExtension("broken", { fail: "no disk" }),
        noteExtension("after-broken", { dependsOn: ["broken"] }),
      ],
    });
    const report = await host.start();
    expect(report.active).toEqual(["surface-registry", "watcher", "good"]);
    const registry = host.get(SurfaceRegistry);

    // the failed extension's surface was rolled back with its scope
    expect(registry.catalog().map((e) => e.id)).toEqual([LOADED_EXTENSIONS_SURFACE_ID, "good-note"]);
    expect(registry.catalog()[0]).toMatchObject({ scope: "global", title: "Loaded extensions" });

    const spec = value(await registry.getSpec(LOADED_EXTENSIONS_SURFACE_ID));
    expect(spec.fields.every((f) => f.kind === "stat")).toBe(true);
    const byId = rows(spec);
    expect(Object.keys(byId)).toEqual(["surface-registry", "watcher", "good", "broken", "after-broken"]);
    expect(byId.good).toMatch(/^active · v2\.0\.0 · (<1 ms|\d+ ms|\d+\.\d s)$/);
    expect(byId.broken).toBe("disabled · v2.0.0: activate threw: no disk");
    expect(byId["after-broken"]).toBe(`disabled · v2.0.0: depends on "broken", which failed`);

    // live: after the watcher subscribed it heard one change per state change: watcher and good
    // activated, broken and after-broken disabled
    expect(changes).toEqual(Array(4).fill(LOADED_EXTENSIONS_SURFACE_ID));
    // and the spec fetched on each change already shows that change
    expect(await Promise.all(states)).toEqual([
      "active,active,pending,pending,pending",
      "active,active,active,pending,pending",
      "active,active,active,disabled,pending",
      "active,active,active,disabled,disabled",
    ]);
    expect(value(await registry.invoke("good-note", "anything"))).toBe("ok");
  });

  test("loaded-extensions has no actions", async () => {
    await using host = createHost({ extensions: [surfaceRegistryExtension()] });
    await host.start();
    const r = await host.get(SurfaceRegistry).invoke(LOADED_EXTENSIONS_SURFACE_ID, "restart");
    expect(r.ok ? "ok" : r.error.code).toBe("SURFACE_UNKNOWN_ACTION");
  });

  test("shutdown unregisters surfaces and reports stopped states", async () => {
    const catalogs: string[][] = [];
    const changes: string[] = [];
    const host = createHost({ extensions: [surfaceRegistryExtension(), noteExtension("good")] });
    await host.start();
    const registry = host.get(SurfaceRegistry);
    registry.onCatalogChanged((c) => catalogs.push(c.map((e) => e.id)));
    registry.onSpecChanged((id) => changes.push(id));
    await host.stop();
    // "good" stopping is still seen; the registry's own stop comes after its surface is gone
    expect(changes).toEqual([LOADED_EXTENSIONS_SURFACE_ID]);
    expect(catalogs).toEqual([[LOADED_EXTENSIONS_SURFACE_ID], []]);
    expect(registry.catalog()).toEqual([]);
  });

  test("the surface can be left out or placed elsewhere", async () => {
    await using a = createHost({ extensions: [surfaceRegistryExtension({ loadedExtensions: false })] });
    await a.start();
    expect(a.get(SurfaceRegistry).catalog()).toEqual([]);
    await using b = createHost({
      extensions: [surfaceRegistryExtension({ loadedExtensions: { region: "footer" } })],
    });
    await b.start();
    expect(b.get(SurfaceRegistry).catalog()[0]?.region).toBe("footer");
  });
});

describe("describeExtension", () => {
  test("formats each state", () => {
    expect(describeExtension({ id: "a", version: "0.1.0", state: "active", activationMs: 3.2 })).toBe(
      "active · v0.1.0 · 3 ms",
    );
    expect(describeExtension({ id: "a", version: "0.1.0", state: "pending" })).toBe("pending · v0.1.0");
    expect(describeExtension({ id: "a", version: "0.1.0", state: "stopped" })).toBe("stopped · v0.1.0");
    expect(
      describeExtension({
        id: "a",
        version: "0.1.0",
        state: "disabled",
        code: "KERNEL_ACTIVATION_TIMEOUT",
        disabledReason: "activate did not finish within 10000 ms",
      }),
    ).toBe("disabled · v0.1.0: activate did not finish within 10000 ms");
    expect([formatMs(0.2), formatMs(12.6), formatMs(2345)]).toEqual(["<1 ms", "13 ms", "2.3 s"]);
  });
});
