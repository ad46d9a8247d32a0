import type { ModelInfo } from "./contract";

/** Context windows and vision of well-known model families, matched on the id's last path segment. */
const KNOWN: { pattern: RegExp; info: ModelInfo }[] = [
  { pattern: /^claude-/, info: { contextWindow: 200_000, vision: true } },
  { pattern: /^gpt-5/, info: { contextWindow: 400_000, vision: true } },
  { pattern: /^gpt-4\.1/, info: { contextWindow: 1_047_576, vision: true } },
  { pattern: /^gpt-4o/, info: { contextWindow: 128_000, vision: true } },
  { pattern: /^o[134](-|$)/, info: { contextWindow: 200_000, vision: true } },
  { pattern: /^gemini-/, info: { contextWindow: 1_048_576, vision: true } },
  { pattern: /^deepseek/, info: { contextWindow: 128_000, vision: false } },
  { pattern: /^llama-?3\.[123]/, info: { contextWindow: 128_000 } },
  { pattern: /^mistral-large/, info: { contextWindow: 128_000 } },
];

/** Pure: what is known about a model id from its family name (`{}` when nothing is). */
export function knownModelInfo(modelId: string): ModelInfo {
  const base = (modelId.split("/").at(-1) ?? modelId).toLowerCase();
  return KNOWN.find((k) => k.pattern.test(base))?.info ?? {};
}

/** Ids that are not chat models (embeddings, speech, images, moderation, legacy completions). */
const NOT_CHAT =
  /embed|tts|whisper|dall-e|moderation|davinci|babbage|transcribe|realtime|gpt-image|speech|rerank/i;

export function isChatModelId(id: string): boolean {
  return !NOT_CHAT.test(id);
}

/**
 * Pure: model info carried by a `GET /models` entry: `context_length` (OpenRouter), `max_model_len`
 * (vLLM), `context_window`; vision from OpenRouter's `architecture.input_modalities`.
 */
export function listedModelInfo(entry: Record<string, unknown>): ModelInfo {
  const info: ModelInfo = {};
  for (const key of ["context_length", "max_model_len", "context_window"]) {
    const value = entry[key];
    if (typeof value === "number" && Number.isInteger(value) && value > 0) {
      info.contextWindow = value;
      break;
    }
  }
  const modalities = (entry.architecture as { input_modalities?: unknown } | undefined)?.input_modalities;
  if (Array.isArray(modalities)) info.vision = modalities.includes("image");
  return info;
}

/** Pure: later sources win field by field (known family < listed < configured). */
export function mergeInfo(...sources: ModelInfo[]): ModelInfo {
  const out: ModelInfo = {};
  for (const s of sources) {
    if (s.contextWindow !== undefined) out.contextWindow = s.contextWindow;
    if (s.vision !== undefined) out.vision = s.vision;
  }
  return out;
}
