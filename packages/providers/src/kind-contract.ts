/**
 * The provider-kind contract: what a provider package (`provider-openai-compatible`,
 * `provider-anthropic`, `provider-local`, …) implements so the catalog can use it without naming it.
 *
 * A kind is a value, installed by the composition root (`providersExtension({ kinds })`). The catalog
 * knows kinds only through this interface: config validation, environment credentials, model
 * construction and model listing all go through it.
 */
import { defineService, type Logger } from "@dispatch/kernel";
import type { z } from "zod";
import type { LanguageModel, ModelEntry, ModelInfo } from "./contract";
import type { RemoteCredentialInput } from "./credential-schema";

export interface ConfiguredModel {
  id: string;
  info: ModelInfo;
}

/** A model a listing reported (`GET /models`). */
export type ListedModel = ConfiguredModel;

/** A credential with its environment applied. Holds the secret: never log it as a whole. */
export interface Credential {
  name: string;
  /** The `id` of the kind that serves it. */
  kind: string;
  baseUrl: string;
  apiKey?: string;
  /** The key was expected in this environment variable, which is unset. */
  missingKeyEnv?: string;
  headers: Record<string, string>;
  /** Listed first and preferred as the default model of this credential. */
  models: ConfiguredModel[];
  listModels: boolean;
  source: "config" | "env";
  /** Fields of the entry beyond the shared ones, when the kind's schema adds some (validated by it). */
  settings?: Record<string, unknown>;
}

/** What `createModel` gets; `name` is `<credential>/<modelId>` and `info` what the catalog knows. */
export interface ModelRequestContext {
  name: string;
  modelId: string;
  info: ModelInfo;
  logger: Logger;
}

/** A credential this kind defines from API-key variables, e.g. `OPENAI_API_KEY` → credential `openai`. */
export interface EnvKeyCredential {
  credential: string;
  keyVar: string;
  baseUrlVar: string;
  /** Preferred model of the credential. */
  model: string;
}

/**
 * A kind of remote credential (an HTTP API). Configured as `providers.credentials.<name>` with
 * `kind = <id>`.
 */
export interface CredentialKind {
  readonly id: string;
  /**
   * Validates one credential entry (its `kind` field is the literal `id`); strict, so a typo is a
   * config error naming the key. `remoteCredentialSchema(id)` is the shared shape.
   */
  readonly schema: z.ZodType<RemoteCredentialInput>;
  /** Base URL of a credential that names none. */
  readonly defaultBaseUrl: string;
  /** A model cannot be made without a key (the catalog then answers PROVIDER_MISSING_API_KEY). */
  readonly requiresApiKey?: boolean;
  /**
   * Whether DISPATCH_BASE_URL / DISPATCH_API_KEY define credential `default` of this kind. A kind that
   * claims them wins; otherwise the `"fallback"` kind takes them.
   */
  readonly claimsDispatchEnv?: ((env: { baseUrl?: string; apiKey?: string }) => boolean) | "fallback";
  /** Credentials made from well-known key variables (unless `providerEnvKeys` is false). */
  readonly envKeys?: readonly EnvKeyCredential[];
  /**
   * A model of `credential`. Synchronous and without I/O: an SDK module may be loaded on the first
   * `stream` (keeps it off the daemon's cold start). Errors of the call are `ProviderError`s.
   */
  createModel(credential: Credential, ctx: ModelRequestContext): LanguageModel;
  /** Lists the models the credential offers; never throws (failures are logged, yielding none). */
  listModels?(credential: Credential, timeoutMs: number, logger: Logger): Promise<ListedModel[]>;
}

/**
 * A kind that is always there without a credential, under a reserved credential name (the offline
 * `local/*` models). Its settings are the config section `providers.<credential>`.
 */
export interface BuiltinKind<S = unknown> {
  readonly id: string;
  /** Reserved credential name, e.g. `local`; models are `<credential>/<id>`. */
  readonly credential: string;
  /** Describes the models in messages: `the ${label} models are …`. */
  readonly label: string;
  /** Strict schema of `providers.<credential>`. */
  readonly section: z.ZodType<S>;
  /** The default model (a full name) when no credential is configured. */
  readonly defaultModel: string;
  /** The models it offers with these settings; `name` is the full `<credential>/<id>`. */
  models(settings: S): ModelEntry[];
  createModel(entry: ModelEntry, settings: S): LanguageModel;
}

export type ProviderKind = ({ type: "credential" } & CredentialKind) | ({ type: "builtin" } & BuiltinKind);

/** The installed kinds, in installation order (which is also the order of environment credentials). */
export interface ProviderKinds {
  list(): readonly ProviderKind[];
  credentialKind(id: string): CredentialKind | undefined;
  builtin(credential: string): BuiltinKind | undefined;
}

export const ProviderKinds = defineService<ProviderKinds>("providers/kinds");
