import type { OpenAICompatibleProvider } from "@ai-sdk/openai-compatible";
import type { ReasoningEffort } from "@dispatch/protocol/types";
import {
  type CredentialKind,
  createCredentialSdkModel,
  listModels,
  perCredential,
  remoteCredentialSchema,
} from "@dispatch/providers";

export const OPENAI_COMPATIBLE_KIND = "openai-compatible";

/**
 * OpenAI-compatible endpoints: OpenAI, Ollama, LM Studio, vLLM, OpenRouter, … (Bearer auth, optional).
 * The AI SDK module loads on the first stream, not at startup.
 */
export const openAICompatibleKind: { type: "credential" } & CredentialKind = {
  type: "credential",
  id: OPENAI_COMPATIBLE_KIND,
  schema: remoteCredentialSchema(OPENAI_COMPATIBLE_KIND),
  defaultBaseUrl: "https://api.openai.com/v1",
  // DISPATCH_BASE_URL / DISPATCH_API_KEY mean an OpenAI-compatible server unless another kind claims them.
  claimsDispatchEnv: "fallback",
  envKeys: [
    { credential: "openai", keyVar: "OPENAI_API_KEY", baseUrlVar: "OPENAI_BASE_URL", model: "gpt-4.1" },
  ],
  createModel(credential, ctx) {
    return createCredentialSdkModel(credential, ctx, {
      model: async () => (await providerOf(credential)).languageModel(ctx.modelId),
      // Several servers reject reasoning_content in input messages: thinking is never sent back.
      keepReasoning: false,
      mapReasoning: clampReasoning,
    });
  },
  listModels: (credential, timeoutMs, logger) =>
    listModels(
      credential,
      timeoutMs,
      logger,
      credential.apiKey ? { authorization: `Bearer ${credential.apiKey}` } : {},
    ),
};

/** Pure: most OpenAI-compatible servers accept low/medium/high only. */
export function clampReasoning(effort: ReasoningEffort): ReasoningEffort {
  return effort === "xhigh" || effort === "max" ? "high" : effort;
}

/** One AI SDK provider per credential. Keys and URLs are always passed, so the SDK reads no env. */
const providerOf = perCredential(
  async (credential): Promise<OpenAICompatibleProvider> =>
    (await import("@ai-sdk/openai-compatible")).createOpenAICompatible({
      name: "dispatch",
      baseURL: credential.baseUrl,
      ...(credential.apiKey ? { apiKey: credential.apiKey } : {}),
      headers: credential.headers,
      includeUsage: true,
    }),
);
