import { KernelError, type Manifest, type ServiceHandle } from "./contract";

export type NeedsResult = { ok: true; manifests: Manifest[] } | { ok: false; error: KernelError };

/**
 * Pure: turns the services manifests name (`needs`, `optionalNeeds`) into the extensions that provide
 * them (`provides`), so an extension depends on a handle, never on another extension's id.
 *
 * Each returned manifest's `dependsOn` / `optionalDependsOn` hold its own ids plus the providers of its
 * needs (deduplicated, own id excluded). Fails with KERNEL_DUPLICATE_SERVICE when two manifests provide
 * one handle and KERNEL_MISSING_DEPENDENCY (every missing service at once) when nothing installed
 * provides a required one; an optional need that nothing provides is ignored. Expects well-formed
 * manifests (the graph checks them first).
 */
export function resolveNeeds(manifests: readonly Manifest[]): NeedsResult {
  const provider = new Map<string, string>();
  for (const m of manifests) {
    for (const h of m.provides ?? []) {
      const other = provider.get(h.id);
      if (other !== undefined && other !== m.id) {
        return fail(
          "KERNEL_DUPLICATE_SERVICE",
          `extensions "${other}" and "${m.id}" both provide service "${h.id}"; install one of them`,
          m.id,
        );
      }
      provider.set(h.id, m.id);
    }
  }
  const missing = manifests.flatMap((m) =>
    (m.needs ?? []).filter((h) => !provider.has(h.id)).map((h) => ({ who: m.id, what: h.id })),
  );
  const first = missing[0];
  if (first) {
    const list = missing.map(
      ({ who, what }) => `extension "${who}" needs service "${what}", which no installed extension provides`,
    );
    return fail("KERNEL_MISSING_DEPENDENCY", `${list.join("; ")}; install its extension`, first.who);
  }
  const providers = (m: Manifest, hs: readonly ServiceHandle<unknown>[] | undefined): string[] =>
    (hs ?? []).flatMap((h) => {
      const id = provider.get(h.id);
      return id === undefined || id === m.id ? [] : [id];
    });
  return {
    ok: true,
    manifests: manifests.map((m) => {
      const dependsOn = [...new Set([...(m.dependsOn ?? []), ...providers(m, m.needs)])];
      const optional = [
        ...new Set([...(m.optionalDependsOn ?? []), ...providers(m, m.optionalNeeds)]),
      ].filter((d) => !dependsOn.includes(d));
      return {
        ...m,
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
        ...(optional.length > 0 ? { optionalDependsOn: optional } : {}),
      };
    }),
  };
}

function fail(code: KernelError["code"], message: string, extensionId: string): NeedsResult {
  return { ok: false, error: new KernelError(code, message, { extensionId }) };
}
