import { z } from "zod";
import type { ModelInfo } from "./contract";
import { LOCAL_CREDENTIAL, type LocalModelOptions } from "./local-model";

export type CredentialKind = "openai-compatible" | "anthropic";

const ModelInfoSchema = z
  .object({ contextWindow: z.number().int().positive().optional(), vision: z.boolean().optional() })
  .strict();

const CredentialSchema = z
  .object({
    kind: z.enum(["openai-compatible", "anthropic"]),
    /** Default: `https://api.openai.com/v1` or `https://api.anthropic.com/v1`. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    apiKey: z.string().min(1).optional(),
    /** Name of the environment variable holding the key (keeps the key out of the config file). */
    apiKeyEnv: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    models: z.union([z.array(z.string().min(1)), z.record(z.string().min(1), ModelInfoSchema)]).optional(),
    /** Ask `GET {baseUrl}/models` at activation; default: only when no models are configured. */
    listModels: z.boolean().optional(),
  })
  .strict()
  .refine((c) => !(c.apiKey && c.apiKeyEnv), { message: "set either apiKey or apiKeyEnv, not both" });

/** The `providers` config section. Every field is optional. */
export const ProvidersConfigSchema = z
  .object({
    credentials: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/, "credential names use letters, digits, '_', '.', '-'"),
        CredentialSchema,
      )
      .refine((c) => !(LOCAL_CREDENTIAL in c), {
        message: `"${LOCAL_CREDENTIAL}" is reserved for the offline models`,
      })
      .optional(),
    /** `<credential>/<model>`; DISPATCH_MODEL overrides it. */
    defaultModel: z.string().min(1).optional(),
    /** Timeout of the model listing at activation. */
    listTimeoutMs: z.number().int().positive().optional(),
    /** Pick up ANTHROPIC_API_KEY and OPENAI_API_KEY as credentials `anthropic` and `openai` (default true). */
    providerEnvKeys: z.boolean().optional(),
    local: z
      .object({
        delayMs: z.number().int().nonnegative().optional(),
        slowDelayMs: z.number().int().nonnegative().optional(),
        contextWindow: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ProvidersConfigInput = z.input<typeof ProvidersConfigSchema>;

export interface ConfiguredModel {
  id: string;
  info: ModelInfo;
}

/** A credential with its environment applied. Holds the secret: never log it as a whole. */
export interface Credential {
  name: string;
  kind: CredentialKind;
  baseUrl: string;
  apiKey?: string;
  /** The key was expected in this environment variable, which is unset. */
  missingKeyEnv?: string;
  headers: Record<string, string>;
  /** Listed first and preferred as the default model of this credential. */
  models: ConfiguredModel[];
  listModels: boolean;
  source: "config" | "env";
}

/**
 * Pure: the strings of `credential` that must never reach a message or a log: its key and every extra
 * header value (custom auth headers such as `api-key` carry secrets too; redacting a harmless one costs
 * nothing).
 */
export function credentialSecrets(credential: Credential): string[] {
  return [...(credential.apiKey ? [credential.apiKey] : []), ...Object.values(credential.headers)];
}

export interface ResolvedProvidersConfig {
  credentials: Credential[];
  defaultModel?: string;
  listTimeoutMs: number;
  local: LocalModelOptions;
}

export const DEFAULT_BASE_URLS: Record<CredentialKind, string> = {
  "openai-compatible": "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com/v1",
};

/** Preferred models of the credentials made from ANTHROPIC_API_KEY / OPENAI_API_KEY. */
export const ENV_KEY_DEFAULT_MODELS = { anthropic: "claude-sonnet-4-5", openai: "gpt-4.1" } as const;

export const DEFAULT_LIST_TIMEOUT_MS = 3000;

type Env = Record<string, string | undefined>;

/**
 * Pure: validates the config section and applies the environment.
 * - DISPATCH_BASE_URL and/or DISPATCH_API_KEY define credential `default` (kind anthropic when the URL
 *   contains "anthropic", or when there is no URL and the key starts with `sk-ant-`); DISPATCH_MODEL
 *   names its model and becomes the default model (it may also be a full `<credential>/<model>`).
 * - ANTHROPIC_API_KEY / OPENAI_API_KEY (with ANTHROPIC_BASE_URL / OPENAI_BASE_URL) define `anthropic`
 *   / `openai`, unless `providerEnvKeys` is false. Config credentials of the same name win.
 */
export function resolveProvidersConfig(
  raw: unknown,
  env: Env,
): { ok: true; value: ResolvedProvidersConfig } | { ok: false; message: string } {
  const parsed = ProvidersConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join(".") : "(root)";
    // A bad record key nests the reason (e.g. the name pattern) one level down.
    const nested = issue?.code === "invalid_key" ? issue.issues[0]?.message : undefined;
    return {
      ok: false,
      message: `invalid providers config at ${path}: ${nested ?? issue?.message ?? "invalid"}`,
    };
  }
  const config = parsed.data;
  const credentials: Credential[] = Object.entries(config.credentials ?? {}).map(([name, c]) => {
    const models = Array.isArray(c.models)
      ? c.models.map((id) => ({ id, info: {} }))
      : Object.entries(c.models ?? {}).map(([id, info]) => ({ id, info: stripUndefined(info) }));
    const apiKey = c.apiKey ?? (c.apiKeyEnv ? nonEmpty(env[c.apiKeyEnv]) : undefined);
    return {
      name,
      kind: c.kind,
      baseUrl: trimSlash(c.baseUrl ?? DEFAULT_BASE_URLS[c.kind]),
      ...(apiKey ? { apiKey } : {}),
      ...(c.apiKeyEnv && !apiKey ? { missingKeyEnv: c.apiKeyEnv } : {}),
      headers: c.headers ?? {},
      models,
      listModels: c.listModels ?? models.length === 0,
      source: "config",
    };
  });
  const taken = (name: string): boolean => credentials.some((c) => c.name === name);
  const envCredential = (
    name: string,
    kind: CredentialKind,
    baseUrl: string | undefined,
    apiKey: string | undefined,
    model?: string,
  ): void => {
    if (taken(name)) return;
    credentials.push({
      name,
      kind,
      baseUrl: trimSlash(baseUrl ?? DEFAULT_BASE_URLS[kind]),
      ...(apiKey ? { apiKey } : {}),
      headers: {},
      models: model ? [{ id: model, info: {} }] : [],
      listModels: true,
      source: "env",
    });
  };

  const baseUrl = nonEmpty(env.DISPATCH_BASE_URL);
  const apiKey = nonEmpty(env.DISPATCH_API_KEY);
  const envModel = nonEmpty(env.DISPATCH_MODEL);
  // DISPATCH_MODEL names a model of `default` unless it starts with `local/` or a configured credential
  // (ids like `openai/gpt-4o` are common on OpenRouter-style servers).
  const envModelIsFull =
    envModel?.includes("/") === true &&
    [...credentials.map((c) => c.name), LOCAL_CREDENTIAL].includes(envModel.split("/")[0]!);
  if (baseUrl || apiKey) {
    const kind: CredentialKind = (baseUrl ? /anthropic/i.test(baseUrl) : apiKey?.startsWith("sk-ant-"))
      ? "anthropic"
      : "openai-compatible";
    envCredential("default", kind, baseUrl, apiKey, envModelIsFull ? undefined : envModel);
  }
  if (config.providerEnvKeys ?? true) {
    const anthropicKey = nonEmpty(env.ANTHROPIC_API_KEY);
    const openaiKey = nonEmpty(env.OPENAI_API_KEY);
    if (anthropicKey)
      envCredential(
        "anthropic",
        "anthropic",
        nonEmpty(env.ANTHROPIC_BASE_URL),
        anthropicKey,
        ENV_KEY_DEFAULT_MODELS.anthropic,
      );
    if (openaiKey)
      envCredential(
        "openai",
        "openai-compatible",
        nonEmpty(env.OPENAI_BASE_URL),
        openaiKey,
        ENV_KEY_DEFAULT_MODELS.openai,
      );
  }

  let defaultModel = config.defaultModel;
  if (envModel) defaultModel = envModelIsFull || !taken("default") ? envModel : `default/${envModel}`;
  return {
    ok: true,
    value: {
      credentials,
      ...(defaultModel ? { defaultModel } : {}),
      listTimeoutMs: config.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS,
      local: stripUndefined(config.local ?? {}),
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
