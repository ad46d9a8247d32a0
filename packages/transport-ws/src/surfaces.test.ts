import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Extension } from "@dispatch/kernel";
import type { ServerMessage, SurfaceSpec } from "@dispatch/protocol/types";
import {
  SurfaceActionError,
  type SurfaceContext,
  type SurfaceProvider,
  SurfaceRegistry,
  unknownAction,
} from "@dispatch/surface-registry";
import { withTimeout } from "@dispatch/testkit";
import { startTestDaemon, TestClient, type TestDaemon, WAIT_MS } from "./test-support";

type Change = (ctx?: SurfaceContext) => void;

/** The change listeners of a test surface: its `subscribe`, and `notify` to announce a change. */
function changeListeners() {
  const listeners = new Set<Change>();
  return {
    notify(ctx?: SurfaceContext): void {
      for (const l of listeners) l(ctx);
    },
    subscribe(onChange: Change): () => void {
      listeners.add(onChange);
      return () => {
        listeners.delete(onChange);
      };
    },
  };
}

/** A global surface with a counter: `increment` bumps it, `fail` refuses. */
function counterSurface(): SurfaceProvider {
  let count = 0;
  const changes = changeListeners();
  return {
    catalogEntry: { id: "counter", region: "sidebar", title: "Counter", scope: "global" },
    getSpec: (): SurfaceSpec => ({
      id: "counter",
      region: "sidebar",
      title: "Counter",
      fields: [
        { kind: "stat", label: "count", value: String(count) },
        { kind: "button", label: "+1", action: { actionId: "increment" } },
      ],
    }),
    invoke(actionId) {
      if (actionId === "fail") throw new SurfaceActionError("SURFACE_ACTION_FAILED", "the counter refused");
      if (actionId !== "increment") throw unknownAction(actionId);
      count++;
      changes.notify();
      return count;
    },
    subscribe: changes.subscribe,
  };
}

/** A conversation-scoped surface holding one note per conversation: `set` { text }. */
function notesSurface(): SurfaceProvider {
  const notes = new Map<string, string>();
  const changes = changeListeners();
  return {
    catalogEntry: { id: "notes", region: "panel", title: "Notes" },
    getSpec: (ctx): SurfaceSpec => ({
      id: "notes",
      region: "panel",
      title: "Notes",
      fields: [{ kind: "stat", label: "note", value: notes.get(ctx?.conversationId ?? "") ?? "" }],
    }),
    invoke(actionId, payload, ctx) {
      if (actionId !== "set") throw unknownAction(actionId);
      const conversationId = ctx?.conversationId ?? "";
      notes.set(conversationId, String((payload as { text?: unknown }).text));
      changes.notify({ conversationId });
      return undefined;
    },
    subscribe: changes.subscribe,
  };
}

/**
 * A global surface whose `getSpec` reads the value when called and answers asynchronously; `holdNext`
 * makes the next call wait until released (a slow provider), so fetches can finish out of order.
 */
function slowSurface() {
  let value = 0;
  let hold: { started: () => void; gate: Promise<void> } | undefined;
  const changes = changeListeners();
  const provider: SurfaceProvider = {
    catalogEntry: { id: "slow", region: "sidebar", title: "Slow", scope: "global" },
    async getSpec(): Promise<SurfaceSpec> {
      const seen = value;
      const h = hold;
      hold = undefined;
      if (h !== undefined) {
        h.started();
        await h.gate;
      }
      return {
        id: "slow",
        region: "sidebar",
        title: "Slow",
        fields: [{ kind: "stat", label: "v", value: String(seen) }],
      };
    },
    invoke(actionId) {
      if (actionId !== "bump") throw unknownAction(actionId);
      value++;
      changes.notify();
      return value;
    },
    subscribe: changes.subscribe,
  };
  /** Holds the next getSpec call: resolves `started` when it has read the value; `release` lets it answer. */
  function holdNext(): { started: Promise<void>; release: () => void } {
    let release = () => {};
    let started = () => {};
    const startedP = new Promise<void>((r) => {
      started = r;
    });
    const gate = new Promise<void>((r) => {
      release = r;
    });
    hold = { started, gate };
    return { started: startedP, release };
  }
  return { provider, holdNext };
}
const slow = slowSurface();

const testSurfaces: Extension = {
  manifest: { id: "test-surfaces", version: "0.0.0", dependsOn: ["surface-registry"] },
  activate(ctx) {
    const registry = ctx.get(SurfaceRegistry);
    ctx.scope.add(registry.register(counterSurface()));
    ctx.scope.add(registry.register(notesSurface()));
    ctx.scope.add(registry.register(slow.provider));
  },
};

let d: TestDaemon;
const clients: TestClient[] = [];
beforeAll(async () => {
  d = await startTestDaemon({ extensions: [testSurfaces] });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d.stop();
});

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(d.url);
  clients.push(c);
  return c;
}

const statValue = (spec: SurfaceSpec) => {
  const f = spec.fields[0];
  return f?.kind === "stat" ? f.value : undefined;
};
const updateOf = (surfaceId: string, value?: string, conversationId?: string) => (f: ServerMessage) =>
  f.type === "update" &&
  f.update.surfaceId === surfaceId &&
  f.update.conversationId === conversationId &&
  (value === undefined || statValue(f.update.spec) === value);

/** Invokes `set` on the notes of `conversationId`. */
function setNote(c: TestClient, conversationId: string, text: string, id: string): Promise<ServerMessage> {
  return c.request(
    { type: "invoke", surfaceId: "notes", actionId: "set", payload: { text }, conversationId },
    id,
  );
}

describe("catalog", () => {
  test("is the first frame on every connection", async () => {
    const c = await connect();
    const first = await c.next(() => true, "the first frame");
    expect(c.frames[0]).toBe(first);
    expect(first.type).toBe("catalog");
    const ids = first.type === "catalog" ? first.catalog.map((e) => e.id) : [];
    expect(ids).toEqual(expect.arrayContaining(["loaded-extensions", "message-queue", "counter", "notes"]));
  });

  test("is pushed again to every connection when the set of surfaces changes", async () => {
    const a = await connect();
    const b = await connect();
    await a.nextOf("catalog");
    await b.nextOf("catalog");
    const registry = d.host.get(SurfaceRegistry);
    const dispose = registry.register({
      catalogEntry: { id: "late", region: "sidebar", title: "Late", scope: "global" },
      getSpec: () => ({ id: "late", region: "sidebar", title: "Late", fields: [] }),
      invoke: () => undefined,
    });
    for (const c of [a, b]) await c.nextOf("catalog", (f) => f.catalog.some((e) => e.id === "late"));
    await dispose();
    for (const c of [a, b]) await c.nextOf("catalog", (f) => !f.catalog.some((e) => e.id === "late"));
  });
});

describe("global surfaces", () => {
  test("subscribe → surface; invoke → ack; every subscriber gets one update per change", async () => {
    const a = await connect();
    const b = await connect();
    const sub = await a.request({ type: "subscribe", surfaceId: "counter" }, "sa");
    expect(sub).toEqual({ type: "ack", replyTo: "sa" });
    const surface = a.frames.find((f) => f.type === "surface");
    expect(surface).toMatchObject({ type: "surface", spec: { id: "counter" } });
    expect(surface && "conversationId" in surface).toBe(false);
    // A global surface ignores conversationId; subscribing twice stays one subscription.
    await b.request({ type: "subscribe", surfaceId: "counter", conversationId: "c1" }, "sb1");
    await b.request({ type: "subscribe", surfaceId: "counter" }, "sb2");
    expect(b.frames.filter((f) => f.type === "surface").length).toBe(2);

    const before = Number(statValue((surface as { spec: SurfaceSpec }).spec));
    const next = String(before + 1);
    expect(await a.request({ type: "invoke", surfaceId: "counter", actionId: "increment" }, "inc")).toEqual({
      type: "ack",
      replyTo: "inc",
    });
    await a.next(updateOf("counter", next), `counter update ${next} at a`);
    await b.next(updateOf("counter", next), `counter update ${next} at b`);
    // One more change: b must see exactly one update per change.
    const after = String(before + 2);
    await a.request({ type: "invoke", surfaceId: "counter", actionId: "increment" }, "inc2");
    await b.next(updateOf("counter", after), `counter update ${after} at b`);
    expect(b.frames.filter(updateOf("counter", next)).length).toBe(1);
  });

  test("a slow initial spec never arrives after a newer update (it is answered with the newer spec)", async () => {
    const a = await connect();
    await a.nextOf("catalog");
    const held = slow.holdNext();
    a.send({ type: "subscribe", surfaceId: "slow", id: "sub" });
    await withTimeout(held.started, WAIT_MS, "the subscriber's getSpec call");
    // The value changes while the subscriber's fetch (which read the old value) is still pending.
    await a.request({ type: "invoke", surfaceId: "slow", actionId: "bump" }, "bump");
    const update = await a.nextOf("update", (f) => f.update.surfaceId === "slow");
    held.release();
    await a.next((f) => "replyTo" in f && f.replyTo === "sub", "the subscribe ack");
    const surface = a.frames.find((f) => f.type === "surface" && f.spec.id === "slow");
    expect(surface).toBeDefined();
    expect(a.frames.indexOf(surface as ServerMessage)).toBeGreaterThan(a.frames.indexOf(update));
    expect(statValue((surface as { spec: SurfaceSpec }).spec)).toBe(statValue(update.update.spec));
  });

  test("invoke failures are reported as error with the surface, code and replyTo", async () => {
    const a = await connect();
    expect(await a.request({ type: "invoke", surfaceId: "counter", actionId: "fail" }, "f")).toEqual({
      type: "error",
      surfaceId: "counter",
      message: 'surface "counter", action "fail": the counter refused',
      replyTo: "f",
      code: "SURFACE_ACTION_FAILED",
    });
    const unknown = await a.request({ type: "invoke", surfaceId: "counter", actionId: "nope" }, "u");
    expect(unknown).toMatchObject({
      type: "error",
      surfaceId: "counter",
      code: "SURFACE_UNKNOWN_ACTION",
      replyTo: "u",
    });
    // Without an id the failure is still reported (the original swallowed it).
    a.send({ type: "invoke", surfaceId: "counter", actionId: "fail" });
    const silent = await a.nextOf("error", (f) => f.replyTo === undefined);
    expect(silent.code).toBe("SURFACE_ACTION_FAILED");
  });

  test("unknown surfaces are refused by name", async () => {
    const a = await connect();
    expect(await a.request({ type: "subscribe", surfaceId: "ghost" }, "g")).toMatchObject({
      type: "error",
      surfaceId: "ghost",
      code: "WS_UNKNOWN_SURFACE",
      replyTo: "g",
    });
  });
});

describe("conversation-scoped surfaces", () => {
  test("updates go only to the subscribers of that conversation", async () => {
    const x = await connect();
    const y = await connect();
    await x.request({ type: "subscribe", surfaceId: "notes", conversationId: "conv-x" }, "x");
    await y.request({ type: "subscribe", surfaceId: "notes", conversationId: "conv-y" }, "y");
    expect(x.frames.find((f) => f.type === "surface")).toMatchObject({ conversationId: "conv-x" });

    await setNote(x, "conv-x", "for x", "sx");
    const ux = await x.next(updateOf("notes", "for x", "conv-x"), "the update of conv-x");
    expect(ux).toMatchObject({ update: { surfaceId: "notes", conversationId: "conv-x" } });
    await setNote(y, "conv-y", "for y", "sy");
    await y.next(updateOf("notes", "for y", "conv-y"), "the update of conv-y");
    // conv-x's update was published before conv-y's: had y been subscribed to it, it would be here.
    expect(y.frames.some(updateOf("notes", undefined, "conv-x"))).toBe(false);
  });

  test("after unsubscribe no more updates arrive", async () => {
    const a = await connect();
    const b = await connect();
    await a.request({ type: "subscribe", surfaceId: "counter" }, "a1");
    await a.request({ type: "subscribe", surfaceId: "notes", conversationId: "conv-u" }, "a2");
    await b.request({ type: "subscribe", surfaceId: "counter" }, "b1");
    expect(await a.request({ type: "unsubscribe", surfaceId: "counter" }, "off")).toEqual({
      type: "ack",
      replyTo: "off",
    });
    expect(await a.request({ type: "unsubscribe", surfaceId: "counter" }, "off-again")).toEqual({
      type: "ack",
      replyTo: "off-again",
    });
    await b.request({ type: "invoke", surfaceId: "counter", actionId: "increment" }, "inc");
    await b.next(updateOf("counter"), "a counter update at b");
    await setNote(b, "conv-u", "later", "n");
    await a.next(updateOf("notes", "later", "conv-u"), "the notes update at a");
    expect(a.frames.some(updateOf("counter"))).toBe(false);
  });
});
