import { type Extension, KernelHost } from "@dispatch/kernel";
import { SurfaceRegistry } from "./contract";
import { type LoadedExtensionsOptions, loadedExtensionsSurface } from "./loaded-extensions";
import { createSurfaceRegistry } from "./surface-registry";

export interface SurfaceRegistryExtensionOptions {
  /** See `SurfaceRegistryOptions.specTimeoutMs`. */
  specTimeoutMs?: number;
  /** Options of the built-in `loaded-extensions` surface, or `false` to leave it out. */
  loadedExtensions?: LoadedExtensionsOptions | false;
}

export const SURFACE_REGISTRY_EXTENSION_ID = "surface-registry";

/** Provides `SurfaceRegistry` and registers the built-in `loaded-extensions` surface. */
export function surfaceRegistryExtension(opts: SurfaceRegistryExtensionOptions = {}): Extension {
  return {
    manifest: { id: SURFACE_REGISTRY_EXTENSION_ID, version: "0.1.0", provides: [SurfaceRegistry] },
    activate(ctx) {
      const registry = createSurfaceRegistry({
        logger: ctx.logger,
        ...(opts.specTimeoutMs === undefined ? {} : { specTimeoutMs: opts.specTimeoutMs }),
      });
      ctx.provide(SurfaceRegistry, registry);
      if (opts.loadedExtensions !== false) {
        ctx.scope.add(registry.register(loadedExtensionsSurface(ctx.get(KernelHost), opts.loadedExtensions)));
      }
    },
  };
}
