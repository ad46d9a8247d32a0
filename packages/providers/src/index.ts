export { createModelCatalog, type ModelCatalogImpl } from "./catalog";
export { type ProvidersConfigInput, ProvidersConfigSchema, resolveProvidersConfig } from "./config";
export * from "./contract";
export { PROVIDERS_EXTENSION_ID, type ProvidersExtensionOptions, providersExtension } from "./extension";
export { LOCAL_ECHO, LOCAL_SLOW, type LocalModelOptions } from "./local-model";
