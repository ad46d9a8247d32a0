import type { AnthropicProvider } from "@ai-sdk/anthropic";
import {
  type CredentialKind,
  createCredentialSdkModel,
  listModels,
  perCredential,
  remoteCredentialSchema,
} from "@dispatch/providers";

export const ANTHROPIC_KIND = "anthropic";

/** Anthropic's Messages API (x-api-key auth, required). The AI SDK module loads on the first stream. */
export const anthropicKind: { type: "credential" } & CredentialKind = {
  type: "credential",
  id: ANTHROPIC_KIND,
  schema: remoteCredentialSchema(ANTHROPIC_KIND),
  defaultBaseUrl: "https://api.anthropic.com/v1",
  requiresApiKey: true,
  // DISPATCH_BASE_URL containing "anthropic", or no URL and an `sk-ant-` key.
  claimsDispatchEnv: ({ baseUrl, apiKey }) =>
    baseUrl ? /anthropic/i.test(baseUrl) : apiKey?.startsWith("sk-ant-") === true,
  envKeys: [
    {
      credential: "anthropic",
      keyVar: "ANTHROPIC_API_KEY",
      baseUrlVar: "ANTHROPIC_BASE_URL",
      model: "claude-sonnet-4-5",
    },
  ],
  createModel(credential, ctx) {
    return createCredentialSdkModel(credential, ctx, {
      model: async () => (await providerOf(credential)).languageModel(ctx.modelId),
      // Signed thinking blocks must go back with tool use; the SDK maps all five efforts itself.
      keepReasoning: true,
    });
  },
  listModels: (credential, timeoutMs, logger) =>
    listModels(credential, timeoutMs, logger, {
      "anthropic-version": "2023-06-01",
      ...(credential.apiKey ? { "x-api-key": credential.apiKey } : {}),
    }),
};

/** One AI SDK provider per credential. Keys and URLs are always passed, so the SDK reads no env. */
const providerOf = perCredential(
  async (credential): Promise<AnthropicProvider> =>
    (await import("@ai-sdk/anthropic")).createAnthropic({
      baseURL: credential.baseUrl,
      apiKey: credential.apiKey ?? "",
      headers: credential.headers,
    }),
);
