import { describe, expect, test } from "bun:test";
import type { Manifest } from "./contract";
import { planActivation } from "./graph";

const m = (id: string, dependsOn?: string[], optionalDependsOn?: string[]): Manifest => ({
  id,
  version: "1.0.0",
  ...(dependsOn ? { dependsOn } : {}),
  ...(optionalDependsOn ? { optionalDependsOn } : {}),
});

function errorOf(manifests: Manifest[]) {
  const r = planActivation(manifests);
  if (r.ok) throw new Error(`expected a graph error, got order ${r.order.join(",")}`);
  return r.error;
}

describe("planActivation", () => {
  test("orders dependencies first and breaks ties by manifest order", () => {
    const r = planActivation([m("c", ["b"]), m("a"), m("b", ["a"]), m("d"), m("e", [], ["c"])]);
    expect(r).toEqual({ ok: true, order: ["a", "b", "c", "d", "e"] });
  });

  test("is deterministic: independent extensions keep manifest order", () => {
    expect(planActivation([m("z"), m("y"), m("x")])).toEqual({ ok: true, order: ["z", "y", "x"] });
  });

  test("an installed optional dependency is activated first; a missing one is ignored", () => {
    expect(planActivation([m("a", [], ["b", "ghost"]), m("b")])).toEqual({ ok: true, order: ["b", "a"] });
  });

  test("duplicate id", () => {
    const e = errorOf([m("a"), m("b"), m("a")]);
    expect(e.code).toBe("KERNEL_DUPLICATE_EXTENSION");
    expect(e.extensionId).toBe("a");
  });

  test("missing dependency names who needs what, every one of them", () => {
    const e = errorOf([m("ws", ["surface-registry"]), m("http", ["store"])]);
    expect(e.code).toBe("KERNEL_MISSING_DEPENDENCY");
    expect(e.extensionId).toBe("ws");
    expect(e.message).toContain(`"ws" depends on "surface-registry"`);
    expect(e.message).toContain(`"http" depends on "store"`);
  });

  test("cycle reports the full path", () => {
    const e = errorOf([m("x"), m("a", ["b"]), m("b", ["c"]), m("c", ["a"])]);
    expect(e.code).toBe("KERNEL_DEPENDENCY_CYCLE");
    expect(e.message).toContain(`"a" -> "b" -> "c" -> "a"`);
  });

  test("a self dependency is a cycle", () => {
    expect(errorOf([m("a", ["a"])]).code).toBe("KERNEL_DEPENDENCY_CYCLE");
  });

  test("a cycle through an optional dependency is still a cycle", () => {
    expect(errorOf([m("a", ["b"]), m("b", [], ["a"])]).code).toBe("KERNEL_DEPENDENCY_CYCLE");
  });

  test("malformed manifests", () => {
    expect(errorOf([{ id: "", version: "1" }]).code).toBe("KERNEL_INVALID_MANIFEST");
    expect(errorOf([{ id: "a" } as Manifest]).code).toBe("KERNEL_INVALID_MANIFEST");
    expect(errorOf([{ id: "a", version: "1", dependsOn: "b" } as unknown as Manifest]).code).toBe(
      "KERNEL_INVALID_MANIFEST",
    );
  });
});
