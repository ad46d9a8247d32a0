import type { Logger } from "@dispatch/kernel";
import { z } from "zod";
import { type Credential, credentialSecrets } from "./config";
import type { ModelInfo } from "./contract";
import { redact } from "./errors";
import { isChatModelId, listedModelInfo } from "./model-info";

const ListResponseSchema = z.object({ data: z.array(z.looseObject({ id: z.string().min(1) })) });

export interface ListedModel {
  id: string;
  info: ModelInfo;
}

/** Headers that authenticate `credential` (Bearer for OpenAI-compatible, x-api-key for Anthropic). */
export function authHeaders(credential: Credential): Record<string, string> {
  if (credential.kind === "anthropic") {
    return {
      "anthropic-version": "2023-06-01",
      ...(credential.apiKey ? { "x-api-key": credential.apiKey } : {}),
    };
  }
  return credential.apiKey ? { authorization: `Bearer ${credential.apiKey}` } : {};
}

/**
 * Asks `GET {baseUrl}/models` once (Ollama, LM Studio, vLLM, OpenRouter, OpenAI, Anthropic answer it).
 * Never throws: a failure is logged as a warning (without the key) and yields no models.
 */
export async function listModels(
  credential: Credential,
  timeoutMs: number,
  logger: Logger,
): Promise<ListedModel[]> {
  const url = `${credential.baseUrl}/models`;
  const secrets = credentialSecrets(credential);
  try {
    const res = await fetch(url, {
      headers: { accept: "application/json", ...credential.headers, ...authHeaders(credential) },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      logger.warn("model listing failed", {
        credential: credential.name,
        url: redact(url, secrets),
        status: res.status,
      });
      return [];
    }
    const parsed = ListResponseSchema.safeParse(await res.json());
    if (!parsed.success) {
      logger.warn("model listing returned an unexpected body", { credential: credential.name, url });
      return [];
    }
    const models = parsed.data.data
      .filter((m) => isChatModelId(m.id))
      .map((m) => ({ id: m.id, info: listedModelInfo(m) }));
    logger.debug("models listed", { credential: credential.name, count: models.length });
    return models;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    logger.warn("model listing failed", {
      credential: credential.name,
      url: redact(url, secrets),
      reason: redact(reason, secrets),
    });
    return [];
  }
}
