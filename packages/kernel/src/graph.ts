import { KernelError, type Manifest } from "./contract";
import { resolveNeeds } from "./needs";

export type GraphResult = { ok: true; order: string[] } | { ok: false; error: KernelError };

/**
 * Pure: validates the extension graph and returns the activation order.
 *
 * Checks, in this order: malformed manifests, duplicate ids, services provided twice or needed and not
 * provided (`needs` become dependencies on the providers, see needs.ts), missing required dependencies
 * (all of them, each as "who needs what"), cycles (the full path). The order is topological; among extensions that
 * are ready at the same time the one listed first in `manifests` goes first, so the order is a function
 * of the input alone. Installed optional dependencies are ordered before their dependents too.
 */
export function planActivation(declared: readonly Manifest[]): GraphResult {
  const malformed = declared.map(describeMalformed).find((m) => m !== undefined);
  if (malformed) return fail("KERNEL_INVALID_MANIFEST", malformed.message, malformed.id);

  const index = new Map<string, number>();
  for (const [i, m] of declared.entries()) {
    if (index.has(m.id)) {
      return fail(
        "KERNEL_DUPLICATE_EXTENSION",
        `extension "${m.id}" is installed twice (positions ${index.get(m.id)} and ${i}); remove one`,
        m.id,
      );
    }
    index.set(m.id, i);
  }
  const resolved = resolveNeeds(declared);
  if (!resolved.ok) return resolved;
  const manifests = resolved.manifests;

  const missing = manifests.flatMap((m) =>
    (m.dependsOn ?? []).filter((d) => !index.has(d)).map((d) => ({ who: m.id, what: d })),
  );
  const firstMissing = missing[0];
  if (firstMissing) {
    const list = missing.map(
      ({ who, what }) => `extension "${who}" depends on "${what}", which is not installed`,
    );
    return fail(
      "KERNEL_MISSING_DEPENDENCY",
      `${list.join("; ")}; install it or remove the dependency`,
      firstMissing.who,
    );
  }

  const edges = new Map<string, string[]>(manifests.map((m) => [m.id, dependencies(m, index)]));
  const cycle = findCycle(manifests, edges);
  if (cycle) {
    return fail(
      "KERNEL_DEPENDENCY_CYCLE",
      `dependency cycle: ${cycle.map((id) => `"${id}"`).join(" -> ")}`,
      cycle[0],
    );
  }

  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < manifests.length) {
    const next = manifests.find(
      (m) => !placed.has(m.id) && (edges.get(m.id) ?? []).every((d) => placed.has(d)),
    );
    if (!next) break; // unreachable: the graph is acyclic
    placed.add(next.id);
    order.push(next.id);
  }
  return { ok: true, order };
}

/** Required dependencies plus the optional ones that are installed. */
function dependencies(m: Manifest, installed: ReadonlyMap<string, number>): string[] {
  const optional = (m.optionalDependsOn ?? []).filter((d) => installed.has(d));
  return [...new Set([...(m.dependsOn ?? []), ...optional])];
}

function findCycle(
  manifests: readonly Manifest[],
  edges: ReadonlyMap<string, string[]>,
): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    if (onPath.has(id)) return [...path.slice(path.indexOf(id)), id];
    if (done.has(id)) return undefined;
    path.push(id);
    onPath.add(id);
    for (const dep of edges.get(id) ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    onPath.delete(id);
    done.add(id);
    return undefined;
  };
  for (const m of manifests) {
    const found = visit(m.id);
    if (found) return found;
  }
  return undefined;
}

function describeMalformed(m: Manifest, i: number): { id?: string; message: string } | undefined {
  const raw = m as Partial<Record<keyof Manifest, unknown>> | undefined;
  if (typeof raw !== "object" || raw === null)
    return { message: `extension at position ${i} has no manifest` };
  if (typeof raw.id !== "string" || raw.id.length === 0) {
    return { message: `extension at position ${i} has a manifest without a non-empty string "id"` };
  }
  const id = raw.id;
  if (typeof raw.version !== "string" || raw.version.length === 0) {
    return { id, message: `extension "${id}" has a manifest without a non-empty string "version"` };
  }
  for (const key of ["dependsOn", "optionalDependsOn"] as const) {
    const list = raw[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((d) => typeof d === "string"))) {
      return {
        id,
        message: `extension "${id}" has a manifest whose "${key}" is not a list of extension ids`,
      };
    }
  }
  for (const key of ["provides", "needs", "optionalNeeds"] as const) {
    const list = raw[key];
    const isHandle = (h: unknown) =>
      typeof h === "object" &&
      h !== null &&
      (h as { kind?: unknown }).kind === "service" &&
      typeof (h as { id?: unknown }).id === "string";
    if (list !== undefined && !(Array.isArray(list) && list.every(isHandle))) {
      return {
        id,
        message: `extension "${id}" has a manifest whose "${key}" is not a list of service handles`,
      };
    }
  }
  return undefined;
}

function fail(code: KernelError["code"], message: string, extensionId?: string): GraphResult {
  return {
    ok: false,
    error: new KernelError(code, message, extensionId === undefined ? {} : { extensionId }),
  };
}
