import { describe, expect, test } from "bun:test";
import { createMemoryLogger, type Disposer } from "@dispatch/kernel";
import {
  type CatalogEntry,
  type Result,
  SurfaceActionError,
  type SurfaceContext,
  type SurfaceProvider,
  SurfaceRegistryError,
  type SurfaceSpec,
  unknownAction,
} from "./contract";
import { createSurfaceRegistry } from "./surface-registry";

/** A real conversation-scoped provider: one counter per conversation, with an "increment" action. */
class CounterSurface implements SurfaceProvider {
  readonly catalogEntry: CatalogEntry;
  private readonly counts = new Map<string, number>();
  private readonly listeners = new Set<(ctx?: SurfaceContext) => void>();

  constructor(id = "counter") {
    this.catalogEntry = { id, region: "panel", title: "Counter" };
  }

  async getSpec(ctx?: SurfaceContext): Promise<SurfaceSpec> {
    await Promise.resolve(); // really async
    const value = this.counts.get(ctx?.conversationId ?? "") ?? 0;
    const { id, region, title } = this.catalogEntry;
    return {
      id,
      region,
      title,
      fields: [
        { kind: "number", label: "count", value, action: { actionId: "set" } },
        { kind: "button", label: "+1", action: { actionId: "increment" } },
      ],
    };
  }

  invoke(actionId: string, payload?: unknown, ctx?: SurfaceContext): number {
    const key = ctx?.conversationId ?? "";
    const current = this.counts.get(key) ?? 0;
    let next: number;
    if (actionId === "increment") next = current + 1;
    else if (actionId === "set") {
      if (typeof payload !== "number")
        throw new SurfaceActionError("SURFACE_INVALID_PAYLOAD", "set takes a number");
      next = payload;
    } else if (actionId === "explode") throw new TypeError("counter exploded");
    else throw unknownAction(actionId);
    this.counts.set(key, next);
    for (const l of this.listeners)
      l(ctx?.conversationId === undefined ? undefined : { conversationId: key });
    return next;
  }

  subscribe(onChange: (ctx?: SurfaceContext) => void): Disposer {
    this.listeners.add(onChange);
    return () => {
      this.listeners.delete(onChange);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Notifies as if the whole surface changed. */
  touch(ctx?: SurfaceContext): void {
    for (const l of this.listeners) l(ctx);
  }
}

/** A real global provider with a synchronous spec and no subscribe. */
const clockSurface = (label: string): SurfaceProvider => ({
  catalogEntry: { id: "clock", region: "status", title: "Clock", scope: "global" },
  getSpec: () => ({
    id: "clock",
    region: "status",
    title: "Clock",
    fields: [{ kind: "stat", label, value: "12:00" }],
  }),
  invoke: (actionId) => {
    throw unknownAction(actionId);
  },
});

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
function errorCode(r: Result<unknown>): string {
  if (r.ok) throw new Error("expected an error result");
  return r.error.code;
}
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("catalog", () => {
  test("lists providers in registration order and notifies on register and unregister", async () => {
    const registry = createSurfaceRegistry();
    const seen: string[][] = [];
    registry.onCatalogChanged((c) => seen.push(c.map((e) => e.id)));
    const counter = new CounterSurface();
    const offCounter = registry.register(counter);
    registry.register(clockSurface("now"));
    expect(registry.catalog()).toEqual([
      { id: "counter", region: "panel", title: "Counter" },
      { id: "clock", region: "status", title: "Clock", scope: "global" },
    ]);
    expect(counter.subscribers).toBe(1);
    await offCounter();
    await offCounter();
    expect(counter.subscribers).toBe(0);
    expect(seen).toEqual([["counter"], ["counter", "clock"], ["clock"]]);
    expect(errorCode(await registry.getSpec("counter"))).toBe("SURFACE_UNKNOWN");
  });

  test("a duplicate id is a coded error and the first registration stays", async () => {
    const registry = createSurfaceRegistry();
    const first = registry.register(clockSurface("first"));
    const e = thrown(() => registry.register(clockSurface("second")));
    expect(e).toBeInstanceOf(SurfaceRegistryError);
    expect((e as SurfaceRegistryError).code).toBe("SURFACE_DUPLICATE_ID");
    expect(value(await registry.getSpec("clock")).fields[0]).toMatchObject({ label: "first" });
    await first();
    registry.register(clockSurface("third"));
    expect(value(await registry.getSpec("clock")).fields[0]).toMatchObject({ label: "third" });
  });

  test("a malformed provider is rejected", () => {
    const registry = createSurfaceRegistry();
    const bad = [
      { catalogEntry: { id: "", region: "r", title: "t" }, getSpec: () => ({}), invoke: () => 0 },
      {
        catalogEntry: { id: "x", region: "r", title: "t", scope: "session" },
        getSpec: () => ({}),
        invoke: () => 0,
      },
      { catalogEntry: { id: "x", region: "r", title: "t" }, invoke: () => 0 },
      { getSpec: () => ({}), invoke: () => 0 },
    ];
    for (const p of bad) {
      expect(
        (thrown(() => registry.register(p as unknown as SurfaceProvider)) as SurfaceRegistryError).code,
      ).toBe("SURFACE_INVALID_PROVIDER");
    }
    expect(registry.catalog()).toEqual([]);
  });

  test("catalog returns copies", () => {
    const registry = createSurfaceRegistry();
    registry.register(clockSurface("now"));
    const [entry] = registry.catalog();
    if (entry) entry.title = "changed";
    expect(registry.catalog()[0]?.title).toBe("Clock");
  });
});

describe("specs", () => {
  test("global and conversation-scoped specs; async getSpec", async () => {
    const registry = createSurfaceRegistry();
    registry.register(new CounterSurface());
    registry.register(clockSurface("now"));
    expect(value(await registry.getSpec("clock")).fields).toEqual([
      { kind: "stat", label: "now", value: "12:00" },
    ]);
    value(await registry.invoke("counter", "increment", undefined, { conversationId: "c1" }));
    value(await registry.invoke("counter", "increment", undefined, { conversationId: "c1" }));
    const countIn = async (conversationId: string) =>
      value(await registry.getSpec("counter", { conversationId })).fields[0];
    expect(await countIn("c1")).toMatchObject({ kind: "number", value: 2 });
    expect(await countIn("c2")).toMatchObject({ kind: "number", value: 0 });
  });

  test("provider failures become SURFACE_SPEC_FAILED values", async () => {
    const logger = createMemoryLogger();
    const registry = createSurfaceRegistry({ logger, specTimeoutMs: 20 });
    const base = { region: "r", title: "t", scope: "global" as const };
    registry.register({
      catalogEntry: { id: "throws", ...base },
      getSpec: () => {
        throw new Error("no spec today");
      },
      invoke: () => undefined,
    });
    registry.register({
      catalogEntry: { id: "rejects", ...base },
      getSpec: () => Promise.reject(new Error("async no")),
      invoke: () => undefined,
    });
    registry.register({
      catalogEntry: { id: "hangs", ...base },
      getSpec: () => new Promise<SurfaceSpec>(() => {}),
      invoke: () => undefined,
    });
    registry.register({
      catalogEntry: { id: "liar", ...base },
      getSpec: () => ({ id: "someone-else", ...base, fields: [] }),
      invoke: () => undefined,
    });
    for (const id of ["throws", "rejects", "hangs", "liar"]) {
      const r = await registry.getSpec(id);
      expect(errorCode(r)).toBe("SURFACE_SPEC_FAILED");
      if (!r.ok) expect(r.error.message).toContain(`"${id}"`);
    }
    expect(logger.records.filter((r) => r.level === "error").map((r) => r.fields.surface)).toEqual([
      "throws",
      "rejects",
      "liar",
    ]);
  });
  test("a spec that breaks the wire schema is SURFACE_SPEC_FAILED naming the field", async () => {
    const logger = createMemoryLogger();
    const registry = createSurfaceRegistry({ logger });
    const base = { region: "r", title: "t", scope: "global" as const };
    const cases: [string, unknown, string][] = [
      [
        "nan",
        { fields: [{ kind: "number", label: "n", value: Number.NaN, action: { actionId: "a" } }] },
        "fields[0].value",
      ],
      ["progress", { fields: [{ kind: "progress", label: "p", value: 1.5 }] }, "fields[0].value"],
      ["kind", { fields: [{ kind: "slider", label: "s", value: 1 }] }, "fields[0].kind"],
      ["action", { fields: [{ kind: "button", label: "b" }] }, "fields[0].action"],
      ["no-fields", {}, "fields"],
      ["not-an-object", null, "object"],
    ];
    for (const [id, spec] of cases) {
      registry.register({
        catalogEntry: { id, ...base },
        getSpec: () =>
          (spec === null ? null : { id, ...base, ...(spec as object) }) as unknown as SurfaceSpec,
        invoke: () => undefined,
      });
    }
    for (const [id, , field] of cases) {
      const r = await registry.getSpec(id);
      if (r.ok) throw new Error(`surface ${id}: malformed spec accepted`);
      expect({ id, code: r.error.code }).toEqual({ id, code: "SURFACE_SPEC_FAILED" });
      expect(r.error.message).toStartWith(`surface "${id}" returned a malformed spec: `);
      expect(r.error.message).toContain(field);
    }
    expect(logger.records.filter((r) => r.msg === "surface getSpec returned a malformed spec")).toHaveLength(
      cases.length,
    );
  });

  test("a valid spec comes back in its wire shape (unknown keys dropped)", async () => {
    const registry = createSurfaceRegistry();
    registry.register({
      catalogEntry: { id: "extra", region: "r", title: "t" },
      getSpec: () =>
        ({
          id: "extra",
          region: "r",
          title: "t",
          internal: { cache: true },
          fields: [{ kind: "stat", label: "a", value: "1", debug: "x" }],
        }) as unknown as SurfaceSpec,
      invoke: () => undefined,
    });
    expect(value(await registry.getSpec("extra"))).toEqual({
      id: "extra",
      region: "r",
      title: "t",
      fields: [{ kind: "stat", label: "a", value: "1" }],
    });
  });

  test("specTimeoutMs: Infinity means no limit; a nonsense value is rejected", async () => {
    const registry = createSurfaceRegistry({ specTimeoutMs: Infinity });
    registry.register({
      catalogEntry: { id: "slow", region: "r", title: "t" },
      // outlasts a later timer: setTimeout would have turned Infinity into 1 ms
      getSpec: () =>
        new Promise<SurfaceSpec>((resolve) =>
          setTimeout(() => resolve({ id: "slow", region: "r", title: "t", fields: [] }), 30),
        ),
      invoke: () => undefined,
    });
    expect(value(await registry.getSpec("slow")).id).toBe("slow");
    for (const specTimeoutMs of [0, -1, Number.NaN]) {
      expect(() => createSurfaceRegistry({ specTimeoutMs })).toThrow(/specTimeoutMs/);
    }
  });
});

describe("invoke", () => {
  test("returns the provider's result, sync or async", async () => {
    const registry = createSurfaceRegistry();
    registry.register(new CounterSurface());
    registry.register({
      catalogEntry: { id: "async", region: "r", title: "t" },
      getSpec: () => ({ id: "async", region: "r", title: "t", fields: [] }),
      invoke: async (actionId, payload) => ({ actionId, payload }),
    });
    expect(await registry.invoke("counter", "set", 41)).toEqual({ ok: true, value: 41 });
    expect(await registry.invoke("async", "go", { x: 1 })).toEqual({
      ok: true,
      value: { actionId: "go", payload: { x: 1 } },
    });
  });

  test("unknown surfaces, unknown actions, bad payloads and throwing providers are values", async () => {
    const logger = createMemoryLogger();
    const registry = createSurfaceRegistry({ logger });
    registry.register(new CounterSurface());
    const cases: [string, string, unknown, string][] = [
      ["nope", "increment", undefined, "SURFACE_UNKNOWN"],
      ["counter", "fly", undefined, "SURFACE_UNKNOWN_ACTION"],
      ["counter", "set", "ten", "SURFACE_INVALID_PAYLOAD"],
      ["counter", "explode", undefined, "SURFACE_ACTION_FAILED"],
    ];
    for (const [surfaceId, actionId, payload, code] of cases) {
      const r = await registry.invoke(surfaceId, actionId, payload);
      expect(errorCode(r)).toBe(code);
      if (!r.ok) expect(r.error.message).toContain(surfaceId);
    }
    const exploded = await registry.invoke("counter", "explode");
    if (!exploded.ok) expect(exploded.error.message).toContain("counter exploded");
    // only the unexpected failure (a bug in the provider) is logged as an error
    expect(logger.records.filter((r) => r.level === "error").map((r) => r.fields.action)).toEqual([
      "explode",
      "explode",
    ]);
  });
});

describe("spec change notifications", () => {
  test("come from providers' subscribe, scoped to the conversation when the provider says so", async () => {
    const registry = createSurfaceRegistry();
    const counter = new CounterSurface();
    const global = new CounterSurface("global-counter");
    (global.catalogEntry as CatalogEntry).scope = "global";
    registry.register(counter);
    registry.register(global);
    const changes: [string, SurfaceContext | undefined][] = [];
    const off = registry.onSpecChanged((id, ctx) => changes.push([id, ctx]));
    await registry.invoke("counter", "increment", undefined, { conversationId: "c1" });
    counter.touch();
    global.touch({ conversationId: "c9" }); // a global surface's change concerns every subscriber
    await off();
    counter.touch();
    expect(changes).toEqual([
      ["counter", { conversationId: "c1" }],
      ["counter", undefined],
      ["global-counter", undefined],
    ]);
  });

  test("a provider may report a change from inside subscribe; a throwing subscribe registers nothing", async () => {
    const registry = createSurfaceRegistry();
    const specs: Promise<Result<SurfaceSpec>>[] = [];
    registry.onSpecChanged((id) => specs.push(registry.getSpec(id)));
    const spec = { id: "eager", region: "r", title: "t", fields: [] };
    registry.register({
      catalogEntry: { id: "eager", region: "r", title: "t", scope: "global" },
      getSpec: () => spec,
      invoke: () => undefined,
      subscribe(onChange) {
        onChange(); // "here is my current state"
        return () => {};
      },
    });
    expect(await Promise.all(specs)).toEqual([{ ok: true, value: spec }]);

    const catalogs: string[][] = [];
    registry.onCatalogChanged((c) => catalogs.push(c.map((e) => e.id)));
    const broken = {
      catalogEntry: { id: "broken", region: "r", title: "t" },
      getSpec: () => ({ ...spec, id: "broken" }),
      invoke: () => undefined,
      subscribe(): Disposer {
        throw new Error("cannot subscribe");
      },
    };
    expect(() => registry.register(broken)).toThrow("cannot subscribe");
    expect(registry.catalog().map((e) => e.id)).toEqual(["eager"]);
    expect(catalogs).toEqual([]);
    expect(errorCode(await registry.getSpec("broken"))).toBe("SURFACE_UNKNOWN");
  });

  test("a throwing listener does not stop the others; a provider's late change after unregister is ignored", async () => {
    const logger = createMemoryLogger();
    const registry = createSurfaceRegistry({ logger });
    let onChange: ((ctx?: SurfaceContext) => void) | undefined;
    const off = registry.register({
      catalogEntry: { id: "leaky", region: "r", title: "t", scope: "global" },
      getSpec: () => ({ id: "leaky", region: "r", title: "t", fields: [] }),
      invoke: () => undefined,
      subscribe(fn) {
        onChange = fn; // never forgets it: a badly behaved provider
        return () => {};
      },
    });
    const heard: string[] = [];
    registry.onSpecChanged(() => {
      throw new Error("listener broke");
    });
    registry.onSpecChanged((id) => heard.push(id));
    registry.onCatalogChanged(() => {
      throw new Error("catalog listener broke");
    });
    onChange?.();
    await off();
    onChange?.();
    expect(heard).toEqual(["leaky"]);
    expect(logger.records.map((r) => r.fields.error)).toEqual(["listener broke", "catalog listener broke"]);
  });
});
