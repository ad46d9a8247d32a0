export * from "./contract";
export {
  SURFACE_REGISTRY_EXTENSION_ID,
  type SurfaceRegistryExtensionOptions,
  surfaceRegistryExtension,
} from "./extension";
export {
  describeExtension,
  type LoadedExtensionsOptions,
  loadedExtensionsSurface,
} from "./loaded-extensions";
export {
  createSurfaceRegistry,
  DEFAULT_SPEC_TIMEOUT_MS,
  type SurfaceRegistryOptions,
} from "./surface-registry";
