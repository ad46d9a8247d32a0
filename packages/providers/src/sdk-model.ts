import type { LanguageModelV4, LanguageModelV4StreamPart, LanguageModelV4Usage } from "@ai-sdk/provider";
import type { Logger } from "@dispatch/kernel";
import type { ReasoningEffort, Usage } from "@dispatch/protocol/types";
import { credentialSecrets } from "./config";
import {
  type FinishReason,
  type LanguageModel,
  type ModelInfo,
  type ModelRequest,
  ProviderError,
  type ProviderPart,
} from "./contract";
import { type FailureContext, toProviderError, truncated } from "./errors";
import type { Credential, ModelRequestContext } from "./kind-contract";
import { toPrompt, toTools } from "./prompt";
import { parseToolInput } from "./tool-input";

export interface SdkModelOptions {
  /** `<credential>/<model>`. */
  name: string;
  info: ModelInfo;
  /**
   * The AI SDK language model, made on the first `stream` (so a kind can load its SDK module lazily,
   * off the daemon's cold start). Only its `doStream` is used: the SDK never retries or runs tools.
   */
  model: () => LanguageModelV4 | Promise<LanguageModelV4>;
  /** Strings that must never appear in error messages or logs. */
  secrets: readonly string[];
  /** Named in connection failures. */
  baseUrl?: string;
  /** Where to set the API key when the credential has none (see `FailureContext.missingKey`). */
  missingKey?: string;
  logger: Logger;
  /** Send thinking chunks of the history back (Anthropic: signed blocks are required with tools). */
  keepReasoning?: boolean;
  /** Adjusts the requested effort for this provider before the AI SDK maps it. */
  mapReasoning?: (effort: ReasoningEffort) => ReasoningEffort;
}

/**
 * A model of a remote credential over an AI SDK model, for a kind's `createModel`: name, info, logger
 * and the secrets to redact come from the credential and the catalog; the kind adds its SDK model and
 * reasoning policy. Shared so that what every remote model gets is decided in one place.
 */
export function createCredentialSdkModel(
  credential: Credential,
  ctx: ModelRequestContext,
  kind: Pick<SdkModelOptions, "model" | "keepReasoning" | "mapReasoning">,
): LanguageModel {
  return createSdkLanguageModel({
    name: ctx.name,
    info: ctx.info,
    secrets: credentialSecrets(credential),
    logger: ctx.logger,
    baseUrl: credential.baseUrl,
    // Custom headers (e.g. Azure's `api-key`) authenticate without `apiKey`.
    ...(credential.apiKey || Object.keys(credential.headers).length > 0
      ? {}
      : { missingKey: keySetting(credential) }),
    ...kind,
  });
}

/** Pure: where the API key of `credential` is set (its variable, or its config section). */
function keySetting(credential: Credential): string {
  if (credential.missingKeyEnv) return `$${credential.missingKeyEnv}`;
  if (credential.source === "env") {
    return credential.name === "default" ? "DISPATCH_API_KEY" : `${credential.name.toUpperCase()}_API_KEY`;
  }
  return `apiKey or apiKeyEnv in [providers.credentials.${credential.name}] of dispatch.toml`;
}

/** A `LanguageModel` over an AI SDK provider model. */
export function createSdkLanguageModel(options: SdkModelOptions): LanguageModel {
  let model: Promise<LanguageModelV4> | undefined;
  // A failed load is not cached: the next stream tries again.
  const load = (): Promise<LanguageModelV4> => {
    model ??= Promise.resolve()
      .then(options.model)
      .catch((error: unknown) => {
        model = undefined;
        throw error;
      });
    return model;
  };
  return {
    name: options.name,
    info: options.info,
    stream: (request) => streamSdk(options, load, request),
  };
}

async function* streamSdk(
  options: SdkModelOptions,
  load: () => Promise<LanguageModelV4>,
  request: ModelRequest,
): AsyncGenerator<ProviderPart> {
  const ctx: FailureContext = {
    model: options.name,
    yielded: false,
    signal: request.signal,
    secrets: options.secrets,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(options.missingKey ? { missingKey: options.missingKey } : {}),
  };
  if (request.signal.aborted)
    throw new ProviderError("PROVIDER_ABORTED", `request to ${options.name} was aborted`);
  let stream: ReadableStream<LanguageModelV4StreamPart>;
  try {
    const tools = toTools(request.tools);
    const model = await load();
    const result = await model.doStream({
      prompt: toPrompt(request.messages, request.system, {
        keepReasoning: options.keepReasoning ?? false,
        vision: options.info.vision === true,
      }),
      ...(tools.length > 0 ? { tools, toolChoice: { type: "auto" as const } } : {}),
      ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
      ...(request.reasoningEffort !== undefined
        ? { reasoning: options.mapReasoning?.(request.reasoningEffort) ?? request.reasoningEffort }
        : {}),
      abortSignal: request.signal,
    });
    stream = result.stream;
  } catch (error) {
    throw toProviderError(error, ctx);
  }
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        throw toProviderError(error, ctx);
      }
      if (next.done) break;
      const part = next.value;
      // The common part first, without the mapping's array.
      if (part.type === "text-delta") {
        if (part.delta) {
          ctx.yielded = true;
          yield { type: "text-delta", delta: part.delta };
        }
        continue;
      }
      if (part.type === "stream-start" && part.warnings.length > 0) {
        options.logger.debug("provider warnings", { model: options.name, warnings: part.warnings });
      }
      for (const out of mapStreamPart(part, ctx)) {
        ctx.yielded = true;
        yield out;
      }
      if (part.type === "finish") finished = true;
    }
  } finally {
    // Stopping early (break, throw) must release the HTTP response, not leave it streaming.
    reader.cancel().catch(() => {});
  }
  if (request.signal.aborted) throw toProviderError(undefined, ctx);
  if (!finished) throw truncated(ctx);
}

/** Maps one AI SDK stream part to ours; throws `ProviderError` for error parts. */
function mapStreamPart(part: LanguageModelV4StreamPart, ctx: FailureContext): ProviderPart[] {
  switch (part.type) {
    case "text-delta":
      return part.delta ? [{ type: "text-delta", delta: part.delta }] : [];
    case "reasoning-delta": {
      const out: ProviderPart[] = part.delta ? [{ type: "reasoning-delta", delta: part.delta }] : [];
      const signature = part.providerMetadata?.anthropic?.signature;
      if (typeof signature === "string") out.push({ type: "reasoning-signature", signature });
      return out;
    }
    case "tool-input-delta":
      return part.delta ? [{ type: "tool-input-delta", toolCallId: part.id, delta: part.delta }] : [];
    case "tool-call":
      return [
        {
          type: "tool-call",
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          ...parseToolInput(part.input),
        },
      ];
    case "finish": {
      if (part.finishReason.unified === "interrupted") throw truncated(ctx);
      const usage = toUsage(part.usage);
      const finish: ProviderPart = { type: "finish", reason: toFinishReason(part.finishReason.unified) };
      return usage ? [{ type: "usage", usage }, finish] : [finish];
    }
    case "error":
      throw toProviderError(part.error, ctx);
    default:
      return [];
  }
}

/** Pure: AI SDK usage to ours; undefined when the provider reported none. Cache counts only when > 0. */
function toUsage(usage: LanguageModelV4Usage): Usage | undefined {
  const input = usage.inputTokens.total;
  const output = usage.outputTokens.total;
  if (input === undefined && output === undefined) return undefined;
  const out: Usage = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  if (usage.inputTokens.cacheRead) out.cacheReadTokens = usage.inputTokens.cacheRead;
  if (usage.inputTokens.cacheWrite) out.cacheWriteTokens = usage.inputTokens.cacheWrite;
  return out;
}

function toFinishReason(unified: string): FinishReason {
  switch (unified) {
    case "stop":
    case "tool-calls":
    case "length":
    case "content-filter":
    case "error":
      return unified;
    default:
      return "other";
  }
}
