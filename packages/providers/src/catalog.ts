import type { Logger } from "@dispatch/kernel";
import type { ResolvedProvidersConfig } from "./config";
import type {
  CatalogError,
  LanguageModel,
  ModelCatalog,
  ModelEntry,
  ModelInfo,
  ResolveResult,
} from "./contract";
import type { Credential, CredentialKind, ListedModel, ProviderKinds } from "./kind-contract";
import { builtinKinds, listCredentialModels } from "./kinds";
import { knownModelInfo, mergeInfo } from "./model-info";

export interface CatalogOptions {
  config: ResolvedProvidersConfig;
  kinds: ProviderKinds;
  logger: Logger;
}

export interface ModelCatalogImpl extends ModelCatalog {
  /** Lists the models of every credential that asks for it, in parallel; failures are logged. */
  refresh(): Promise<void>;
}

/**
 * The model catalog: named credentials and their models, then the models of the built-in kinds
 * (`local/*`). It knows kinds only through `ProviderKinds`: each credential's kind makes and lists
 * its models.
 */
export function createModelCatalog(options: CatalogOptions): ModelCatalogImpl {
  const { config, kinds, logger } = options;
  const credentials = new Map(config.credentials.map((c) => [c.name, c]));
  const listed = new Map<string, ListedModel[]>();
  const models = new Map<string, LanguageModel>();
  const builtins = builtinKinds(kinds).map((kind) => {
    const settings = config.builtin[kind.credential];
    return { kind, settings, entries: kind.models(settings) };
  });

  function kindOf(credential: Credential): CredentialKind {
    const kind = kinds.credentialKind(credential.kind);
    // Unreachable through resolveProvidersConfig, which validates kinds against the same registry.
    if (!kind)
      throw new Error(
        `credential "${credential.name}" has kind "${credential.kind}", which is not installed`,
      );
    return kind;
  }

  function entriesOf(credential: Credential): ModelEntry[] {
    const seen = new Map<string, ModelInfo>();
    const fromList = new Map((listed.get(credential.name) ?? []).map((m) => [m.id, m.info]));
    for (const m of credential.models)
      seen.set(m.id, mergeInfo(knownModelInfo(m.id), fromList.get(m.id) ?? {}, m.info));
    for (const [id, info] of fromList) if (!seen.has(id)) seen.set(id, mergeInfo(knownModelInfo(id), info));
    return [...seen].map(([id, info]) => ({ name: `${credential.name}/${id}`, info }));
  }

  function list(): ModelEntry[] {
    return [...config.credentials.flatMap(entriesOf), ...builtins.flatMap((b) => b.entries)];
  }

  function infoOf(name: string): ModelInfo {
    const entry = list().find((e) => e.name === name);
    return entry?.info ?? knownModelInfo(name);
  }

  function resolveFull(credential: Credential, modelId: string, name: string): ResolveResult {
    const kind = kindOf(credential);
    if (credential.missingKeyEnv) {
      return fail(
        "PROVIDER_MISSING_API_KEY",
        `credential "${credential.name}" reads its API key from $${credential.missingKeyEnv}, which is not set`,
      );
    }
    if (kind.requiresApiKey && !credential.apiKey) {
      return fail(
        "PROVIDER_MISSING_API_KEY",
        `credential "${credential.name}" (${kind.id}) has no API key: set apiKey or apiKeyEnv in the providers config`,
      );
    }
    const model = kind.createModel(credential, { name, modelId, info: infoOf(name), logger });
    models.set(name, model);
    return { ok: true, value: model };
  }

  function resolveBuiltin(b: (typeof builtins)[number], name: string): ResolveResult {
    const entry = b.entries.find((e) => e.name === name);
    if (!entry) {
      const names = b.entries.map((e) => e.name).join(", ");
      return fail(
        "PROVIDER_UNKNOWN_MODEL",
        `unknown model "${name}": the ${b.kind.label} models are ${names}`,
      );
    }
    const model = b.kind.createModel(entry, b.settings);
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
    const builtin = builtins.find((b) => b.kind.credential === prefix);
    if (builtin) return resolveBuiltin(builtin, name);
    const credential = prefix !== undefined ? credentials.get(prefix) : undefined;
    if (credential && modelId) return resolveFull(credential, modelId, name);
    if (credential) {
      return fail(
        credential.missingKeyEnv ? "PROVIDER_MISSING_API_KEY" : "PROVIDER_UNKNOWN_MODEL",
        noModelMessage(credential),
      );
    }
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
      const known = [...credentials.keys(), ...builtins.map((b) => b.kind.credential)];
      return fail(
        "PROVIDER_UNKNOWN_CREDENTIAL",
        `unknown credential "${prefix}" in model "${name}"; known credentials: ${known.join(", ")}`,
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

  /**
   * The configured default, else the first model of a credential. A built-in default (`local/echo`)
   * only when no credential is configured: a configured credential whose models are unknown (its
   * listing failed) yields `<credential>/`, which does not resolve and says how to fix it, rather than
   * a silent echo.
   */
  function defaultModel(): string {
    if (config.defaultModel) return config.defaultModel;
    const first = config.credentials.flatMap(entriesOf)[0]?.name;
    if (first) return first;
    const credential = config.credentials[0];
    return credential ? `${credential.name}/` : (builtins[0]?.kind.defaultModel ?? "");
  }

  async function refresh(): Promise<void> {
    await Promise.all(
      config.credentials
        .filter((c) => c.listModels && !c.missingKeyEnv)
        .map(async (c) => {
          listed.set(c.name, await listCredentialModels(kinds, c, config.listTimeoutMs, logger));
        }),
    );
  }

  return { list, defaultModel, resolve, refresh };
}

/** Pure: whether `name` is a model of a built-in kind (`local/*`). */
export function isBuiltinModel(kinds: ProviderKinds, name: string): boolean {
  return builtinKinds(kinds).some((b) => name.startsWith(`${b.credential}/`));
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

function fail(code: CatalogError["code"], message: string): ResolveResult {
  return { ok: false, error: { code, message } };
}
