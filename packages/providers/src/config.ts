import { z } from "zod";
import { type RemoteCredentialInput, remoteCredentialSchema } from "./credential-schema";
import type { CredentialKind, ProviderKinds } from "./kind-contract";
import { builtinKinds, credentialKinds } from "./kinds";

export type { ConfiguredModel, Credential } from "./kind-contract";

import type { Credential } from "./kind-contract";

const CREDENTIAL_NAME = /^[A-Za-z0-9_.-]+$/;
/** The fields of `remoteCredentialSchema`; a kind's own fields go to `Credential.settings`. */
const SHARED_KEYS = new Set(Object.keys(remoteCredentialSchema("").shape));

/**
 * The `providers` config section for these kinds. Every field is optional. A credential entry is
 * checked by the schema of its `kind`; each built-in kind adds its section (`local`).
 */
export function providersConfigSchema(kinds: ProviderKinds) {
  const remote = credentialKinds(kinds);
  const builtin = builtinKinds(kinds);
  const expected = `expected one of ${remote.map((k) => JSON.stringify(k.id)).join("|")}`;
  const [first, ...rest] = remote.map((k) => k.schema) as unknown as z.ZodObject<{
    kind: z.ZodLiteral<string>;
  }>[];
  const credential = first
    ? z.discriminatedUnion("kind", [first, ...rest], {
        // The same message a plain enum of the kinds gives, at `credentials.<name>.kind`.
        error: (issue) => (issue.code === "invalid_union" ? `Invalid option: ${expected}` : undefined),
      })
    : z.custom<never>(() => false, "no provider kind for credentials is installed");
  const sections = Object.fromEntries(builtin.map((b) => [b.credential, b.section.optional()]));
  return z
    .object({
      credentials: z
        .record(
          z.string().regex(CREDENTIAL_NAME, "credential names use letters, digits, '_', '.', '-'"),
          credential,
        )
        .superRefine((c, ctx) => {
          for (const b of builtin) {
            if (b.credential in c)
              ctx.addIssue({
                code: "custom",
                message: `"${b.credential}" is reserved for the ${b.label} models`,
              });
          }
        })
        .optional(),
      /** `<credential>/<model>`; DISPATCH_MODEL overrides it. */
      defaultModel: z.string().min(1).optional(),
      /** Timeout of the model listing at activation. */
      listTimeoutMs: z.number().int().positive().optional(),
      /** Pick up well-known key variables (ANTHROPIC_API_KEY, OPENAI_API_KEY, …) as credentials (default true). */
      providerEnvKeys: z.boolean().optional(),
      ...sections,
    })
    .strict();
}

export interface ProvidersConfigInput {
  credentials?: Record<string, { kind: string } & Record<string, unknown>>;
  defaultModel?: string;
  listTimeoutMs?: number;
  providerEnvKeys?: boolean;
  /** Sections of built-in kinds, e.g. `local`. */
  [section: string]: unknown;
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
  /** The parsed section of each built-in kind, by its credential name (absent when not configured). */
  builtin: Record<string, unknown>;
}

const DEFAULT_LIST_TIMEOUT_MS = 3000;

type Env = Record<string, string | undefined>;

/**
 * Pure: validates the config section against the installed kinds and applies the environment.
 * - DISPATCH_BASE_URL and/or DISPATCH_API_KEY define credential `default`, of the kind that claims
 *   them (e.g. Anthropic for a URL containing "anthropic") or else of the fallback kind; DISPATCH_MODEL
 *   names its model and becomes the default model (it may also be a full `<credential>/<model>`).
 * - Each kind's `envKeys` (ANTHROPIC_API_KEY, OPENAI_API_KEY with their *_BASE_URL) define credentials,
 *   in kind installation order, unless `providerEnvKeys` is false. Config credentials of the same name win.
 */
export function resolveProvidersConfig(
  raw: unknown,
  env: Env,
  kinds: ProviderKinds,
): { ok: true; value: ResolvedProvidersConfig } | { ok: false; message: string } {
  const parsed = providersConfigSchema(kinds).safeParse(raw ?? {});
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
  const config = parsed.data as ProvidersConfigInput;
  const entries = Object.entries((config.credentials ?? {}) as Record<string, RemoteCredentialInput>);
  const credentials: Credential[] = entries.map(([name, c]) => {
    const kind = kinds.credentialKind(c.kind) as CredentialKind;
    const models = Array.isArray(c.models)
      ? c.models.map((id) => ({ id, info: {} }))
      : Object.entries(c.models ?? {}).map(([id, info]) => ({ id, info: stripUndefined(info) }));
    const apiKey = c.apiKey ?? (c.apiKeyEnv ? nonEmpty(env[c.apiKeyEnv]) : undefined);
    const settings = Object.fromEntries(Object.entries(c).filter(([key]) => !SHARED_KEYS.has(key)));
    return {
      name,
      kind: c.kind,
      baseUrl: trimSlash(c.baseUrl ?? kind.defaultBaseUrl),
      ...(apiKey ? { apiKey } : {}),
      ...(c.apiKeyEnv && !apiKey ? { missingKeyEnv: c.apiKeyEnv } : {}),
      headers: c.headers ?? {},
      models,
      listModels: c.listModels ?? models.length === 0,
      source: "config",
      ...(Object.keys(settings).length > 0 ? { settings } : {}),
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
      kind: kind.id,
      baseUrl: trimSlash(baseUrl ?? kind.defaultBaseUrl),
      ...(apiKey ? { apiKey } : {}),
      headers: {},
      models: model ? [{ id: model, info: {} }] : [],
      listModels: true,
      source: "env",
    });
  };

  const remote = credentialKinds(kinds);
  const reserved = builtinKinds(kinds).map((b) => b.credential);
  const baseUrl = nonEmpty(env.DISPATCH_BASE_URL);
  const apiKey = nonEmpty(env.DISPATCH_API_KEY);
  const envModel = nonEmpty(env.DISPATCH_MODEL);
  // DISPATCH_MODEL names a model of `default` unless it starts with a built-in or a configured
  // credential (ids like `openai/gpt-4o` are common on OpenRouter-style servers).
  const envModelIsFull =
    envModel?.includes("/") === true &&
    [...credentials.map((c) => c.name), ...reserved].includes(envModel.split("/")[0]!);
  if (baseUrl || apiKey) {
    const claims = (k: CredentialKind): boolean =>
      typeof k.claimsDispatchEnv === "function" &&
      k.claimsDispatchEnv({ ...(baseUrl ? { baseUrl } : {}), ...(apiKey ? { apiKey } : {}) });
    const kind = remote.find(claims) ?? remote.find((k) => k.claimsDispatchEnv === "fallback");
    if (kind) envCredential("default", kind, baseUrl, apiKey, envModelIsFull ? undefined : envModel);
  }
  if (config.providerEnvKeys ?? true) {
    for (const kind of remote) {
      for (const e of kind.envKeys ?? []) {
        const key = nonEmpty(env[e.keyVar]);
        if (key) envCredential(e.credential, kind, nonEmpty(env[e.baseUrlVar]), key, e.model);
      }
    }
  }

  let defaultModel = config.defaultModel;
  if (envModel) defaultModel = envModelIsFull || !taken("default") ? envModel : `default/${envModel}`;
  const builtin = Object.fromEntries(
    reserved.flatMap((name) => (config[name] === undefined ? [] : [[name, config[name]]])),
  );
  return {
    ok: true,
    value: {
      credentials,
      ...(defaultModel ? { defaultModel } : {}),
      listTimeoutMs: config.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS,
      builtin,
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
