import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import type { Logger } from "@dispatch/kernel";
import type { ReasoningEffort } from "@dispatch/protocol/types";
import { type Credential, credentialSecrets, type ResolvedProvidersConfig } from "./config";
import type {
  CatalogError,
  LanguageModel,
  ModelCatalog,
  ModelEntry,
  ModelInfo,
  ResolveResult,
} from "./contract";
import { createLocalModel, LOCAL_CREDENTIAL, LOCAL_ECHO, type LocalModelOptions } from "./local-model";
import { knownModelInfo, mergeInfo } from "./model-info";
import { type ListedModel, listModels } from "./model-list";
import { createSdkLanguageModel } from "./sdk-model";

export interface CatalogOptions {
  config: ResolvedProvidersConfig;
  logger: Logger;
  /** Overrides `config.local` (factory options beat the config file). */
  local?: LocalModelOptions;
}

export interface ModelCatalogImpl extends ModelCatalog {
  /** Lists the models of every credential that asks for it, in parallel; failures are logged. */
  refresh(): Promise<void>;
}

const LOCAL_DEFAULTS = { delayMs: 5, slowDelayMs: 60, contextWindow: 32_768 };

/** The model catalog: named credentials, their models, and the offline `local/*` models. */
export function createModelCatalog(options: CatalogOptions): ModelCatalogImpl {
  const { config, logger } = options;
  const credentials = new Map(config.credentials.map((c) => [c.name, c]));
  const listed = new Map<string, ListedModel[]>();
  const sdkFactories = new Map<string, (modelId: string) => LanguageModelV4>();
  const models = new Map<string, LanguageModel>();
  const local = { ...LOCAL_DEFAULTS, ...config.local, ...options.local };
  const localInfo: ModelInfo = { contextWindow: local.contextWindow, vision: false };
  const localModels: Record<string, number> = { echo: local.delayMs, slow: local.slowDelayMs };

  function entriesOf(credential: Credential): ModelEntry[] {
    const seen = new Map<string, ModelInfo>();
    const fromList = new Map((listed.get(credential.name) ?? []).map((m) => [m.id, m.info]));
    for (const m of credential.models)
      seen.set(m.id, mergeInfo(knownModelInfo(m.id), fromList.get(m.id) ?? {}, m.info));
    for (const [id, info] of fromList) if (!seen.has(id)) seen.set(id, mergeInfo(knownModelInfo(id), info));
    return [...seen].map(([id, info]) => ({ name: `${credential.name}/${id}`, info }));
  }

  function list(): ModelEntry[] {
    const remote = config.credentials.flatMap(entriesOf);
    const offline = Object.keys(localModels).map((id) => ({
      name: `${LOCAL_CREDENTIAL}/${id}`,
      info: localInfo,
    }));
    return [...remote, ...offline];
  }

  function sdkModel(credential: Credential, modelId: string): LanguageModelV4 {
    let factory = sdkFactories.get(credential.name);
    if (!factory) {
      factory = createSdkFactory(credential);
      sdkFactories.set(credential.name, factory);
    }
    return factory(modelId);
  }

  function infoOf(name: string): ModelInfo {
    const entry = list().find((e) => e.name === name);
    return entry?.info ?? knownModelInfo(name);
  }

  function resolveFull(credential: Credential, modelId: string, name: string): ResolveResult {
    if (credential.missingKeyEnv) {
      return fail(
        "PROVIDER_MISSING_API_KEY",
        `credential "${credential.name}" reads its API key from $${credential.missingKeyEnv}, which is not set`,
      );
    }
    if (credential.kind === "anthropic" && !credential.apiKey) {
      return fail(
        "PROVIDER_MISSING_API_KEY",
        `credential "${credential.name}" (anthropic) has no API key: set apiKey or apiKeyEnv in the providers config`,
      );
    }
    const model = createSdkLanguageModel({
      name,
      info: infoOf(name),
      model: sdkModel(credential, modelId),
      secrets: credentialSecrets(credential),
      logger,
      // Most OpenAI-compatible servers accept low/medium/high only; Anthropic maps all five itself.
      ...(credential.kind === "openai-compatible"
        ? { mapReasoning: clampReasoning }
        : { keepReasoning: true }),
    });
    models.set(name, model);
    return { ok: true, value: model };
  }

  function resolve(rawName: string): ResolveResult {
    const name = rawName.trim();
    const cached = models.get(name);
    if (cached) return { ok: true, value: cached };
    const slash = name.indexOf("/");
    const prefix = slash > 0 ? name.slice(0, slash) : undefined;
    const modelId = slash > 0 ? name.slice(slash + 1) : "";
    if (prefix === LOCAL_CREDENTIAL) {
      const delay = localModels[modelId];
      if (delay === undefined) {
        return fail(
          "PROVIDER_UNKNOWN_MODEL",
          `unknown model "${name}": the offline models are ${offlineNames()}`,
        );
      }
      const model = createLocalModel(name, delay, localInfo);
      models.set(name, model);
      return { ok: true, value: model };
    }
    const credential = prefix !== undefined ? credentials.get(prefix) : undefined;
    if (credential && modelId) return resolveFull(credential, modelId, name);
    if (credential) return fail("PROVIDER_UNKNOWN_MODEL", noModelMessage(credential));
    // A bare id (or an id with slashes, like `openai/gpt-4o` on OpenRouter) listed by exactly one credential.
    const matches = list().filter((e) => e.name.slice(e.name.indexOf("/") + 1) === name);
    if (matches.length === 1) return resolve(matches[0]!.name);
    if (matches.length > 1) {
      return fail(
        "PROVIDER_UNKNOWN_MODEL",
        `model "${name}" is offered by several credentials (${matches.map((m) => m.name).join(", ")}); name one`,
      );
    }
    if (prefix !== undefined && !credential) {
      return fail(
        "PROVIDER_UNKNOWN_CREDENTIAL",
        `unknown credential "${prefix}" in model "${name}"; known credentials: ${[...credentials.keys(), LOCAL_CREDENTIAL].join(", ")}`,
      );
    }
    return fail(
      "PROVIDER_UNKNOWN_MODEL",
      `unknown model "${name}": name it <credential>/<model>, e.g. ${list()
        .slice(0, 5)
        .map((e) => e.name)
        .join(", ")}`,
    );
  }

  function offlineNames(): string {
    return Object.keys(localModels)
      .map((id) => `${LOCAL_CREDENTIAL}/${id}`)
      .join(", ");
  }

  /**
   * The configured default, else the first model of a credential. `local/echo` only when no credential
   * is configured: a configured credential whose models are unknown (its listing failed) yields
   * `<credential>/`, which does not resolve and says how to fix it, rather than a silent echo.
   */
  function defaultModel(): string {
    if (config.defaultModel) return config.defaultModel;
    const first = list().find((e) => !e.name.startsWith(`${LOCAL_CREDENTIAL}/`))?.name;
    if (first) return first;
    const credential = config.credentials[0];
    return credential ? `${credential.name}/` : LOCAL_ECHO;
  }

  async function refresh(): Promise<void> {
    await Promise.all(
      config.credentials
        .filter((c) => c.listModels && !c.missingKeyEnv)
        .map(async (c) => {
          listed.set(c.name, await listModels(c, config.listTimeoutMs, logger));
        }),
    );
  }

  return { list, defaultModel, resolve, refresh };
}

/** Pure: why `<credential>/` names no model, and how to name one. */
function noModelMessage(credential: Credential): string {
  const why = credential.missingKeyEnv
    ? `its API key variable $${credential.missingKeyEnv} is not set`
    : credential.listModels
      ? `GET ${credential.baseUrl}/models listed none (see the log)`
      : "none is configured";
  return `credential "${credential.name}" has no known model (${why}): set DISPATCH_MODEL, or name its models in the providers config`;
}

function clampReasoning(effort: ReasoningEffort): ReasoningEffort {
  return effort === "xhigh" || effort === "max" ? "high" : effort;
}

function fail(code: CatalogError["code"], message: string): ResolveResult {
  return { ok: false, error: { code, message } };
}

/** The AI SDK provider of a credential. Keys and URLs are always passed, so the SDK reads no env. */
function createSdkFactory(credential: Credential): (modelId: string) => LanguageModelV4 {
  if (credential.kind === "anthropic") {
    const provider = createAnthropic({
      baseURL: credential.baseUrl,
      apiKey: credential.apiKey ?? "",
      headers: credential.headers,
    });
    return (modelId) => provider.languageModel(modelId);
  }
  const provider = createOpenAICompatible({
    name: "dispatch",
    baseURL: credential.baseUrl,
    ...(credential.apiKey ? { apiKey: credential.apiKey } : {}),
    headers: credential.headers,
    includeUsage: true,
  });
  return (modelId) => provider.languageModel(modelId);
}
