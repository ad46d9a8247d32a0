import type { Logger } from "@dispatch/kernel";
import { z } from "zod";
import { credentialSecrets } from "./config";
import { redact } from "./errors";
import type { Credential, ListedModel } from "./kind-contract";
import { isChatModelId, listedModelInfo } from "./model-info";

const ListResponseSchema = z.object({ data: z.array(z.looseObject({ id: z.string().min(1) })) });

/**
 * Asks `GET {baseUrl}/models` once (Ollama, LM Studio, vLLM, OpenRouter, OpenAI, Anthropic answer it),
 * authenticated with `authHeaders` (the kind's scheme: Bearer, x-api-key, …). Never throws: a failure is logged as a warning (without the key) and yields no models.
 */
export async function listModels(
  credential: Credential,
  timeoutMs: number,
  logger: Logger,
  authHeaders: Record<string, string>,
): Promise<ListedModel[]> {
  const url = `${credential.baseUrl}/models`;
  const secrets = credentialSecrets(credential);
  try {
    const res = await fetch(url, {
      headers: { accept: "application/json", ...credential.headers, ...authHeaders },
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
