import { z } from "zod";

const ModelInfoSchema = z
  .object({ contextWindow: z.number().int().positive().optional(), vision: z.boolean().optional() })
  .strict();

/**
 * The shape of a remote credential entry (`providers.credentials.<name>`) of kind `kind`: strict, so
 * a misspelt key is reported with its path. Kinds use it as their `schema` (and may narrow it).
 */
export function remoteCredentialSchema<K extends string>(kind: K) {
  return z
    .object({
      kind: z.literal(kind),
      /** Default: the kind's `defaultBaseUrl`. */
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
}

/** A parsed credential entry, before the environment is applied. */
export type RemoteCredentialInput = z.output<ReturnType<typeof remoteCredentialSchema<string>>>;
