import { expect, test } from "bun:test";
import { OWNER, type Role } from "@dispatch/operations";
import { httpRoutes } from "@dispatch/protocol";
import { type ApiDeps, apiRoutes } from "./api";
import { authorizeRoute, routeRequirement } from "./route-roles";

test("the server routes exactly the protocol's HTTP route table", () => {
  // Building the table only creates closures; no dependency is touched.
  const table = apiRoutes({} as ApiDeps);
  const served = Object.entries(table)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`))
    .sort();
  const documented = httpRoutes
    .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/\{(\w+)\}/g, ":$1")}`)
    .sort();
  expect(served).toEqual(documented);
});

test("every route declares its role; a viewer is refused every owner route and other conversations", () => {
  const viewer: Role = { kind: "viewer", conversationId: "c-1", shareId: "s-1" };
  for (const r of httpRoutes) {
    const path = r.path.replace(/\{(\w+)\}/g, ":$1");
    const method = r.method.toUpperCase();
    expect(["anyone", "conversation", "owner"]).toContain(r.role);
    expect(routeRequirement(method, path)).toBe(r.role);
    const own = authorizeRoute(viewer, method, path, path.includes(":id") ? "c-1" : undefined);
    const other = authorizeRoute(viewer, method, path, path.includes(":id") ? "c-2" : undefined);
    const label = `${method} ${path}`;
    expect({ label, own: own?.code }).toEqual({ label, own: r.role === "owner" ? "FORBIDDEN" : undefined });
    expect({ label, other: other?.code }).toEqual({
      label,
      other: r.role === "anyone" ? undefined : "FORBIDDEN",
    });
    expect(authorizeRoute(OWNER, method, path, "c-2")).toBeUndefined();
  }
  // A route the table does not declare is owner-only.
  expect(routeRequirement("GET", "/not/declared")).toBe("owner");
});
