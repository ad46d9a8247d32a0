export { createModelCatalog, type ModelCatalogImpl } from "./catalog";
export {
  credentialSecrets,
  type ProvidersConfigInput,
  providersConfigSchema,
  type ResolvedProvidersConfig,
  resolveProvidersConfig,
} from "./config";
export * from "./contract";
export { type RemoteCredentialInput, remoteCredentialSchema } from "./credential-schema";
export { PROVIDERS_EXTENSION_ID, type ProvidersExtensionOptions, providersExtension } from "./extension";
export * from "./kind-contract";
export { createProviderKinds, listCredentialModels, perCredential } from "./kinds";
// Building blocks for kinds over the AI SDK and OpenAI-style listings.
export { knownModelInfo } from "./model-info";
export { listModels } from "./model-list";
export { createCredentialSdkModel, createSdkLanguageModel, type SdkModelOptions } from "./sdk-model";
export { parseToolInput } from "./tool-input";
