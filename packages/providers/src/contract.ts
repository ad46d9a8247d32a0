/**
 * The providers contract: what the turn loop (session-orchestrator) and the transports import.
 *
 * A `LanguageModel` streams one model response as `ProviderPart`s. It never runs tools and never
 * retries: the turn loop owns tools, timeouts and retries. Failures are thrown as `ProviderError`
 * (from the call, from the stream, or for an in-stream error reported by the provider). Models are
 * named `<credential>/<model>` and found through the `ModelCatalog` service.
 */
import { defineService } from "@dispatch/kernel";
import type { Chunk, ReasoningEffort, Role, Usage } from "@dispatch/protocol/types";

/** Why a model response ended. */
export type FinishReason = "stop" | "tool-calls" | "length" | "content-filter" | "error" | "other";

/**
 * One streamed piece of a model response, in order. A well-formed stream ends with an optional
 * `usage` followed by exactly one `finish`; a failure throws `ProviderError` instead.
 */
export type ProviderPart =
  | { type: "text-delta"; delta: string }
  | { type: "reasoning-delta"; delta: string }
  /**
   * Anthropic signs each thinking block; the signature arrives at the block's end. Providers that need
   * it back (Anthropic with thinking and tools) read it from a thinking chunk's optional `signature`
   * property (see `ThinkingChunkWithSignature`). Safe to ignore otherwise.
   */
  | { type: "reasoning-signature"; signature: string }
  /**
   * A fragment of a tool call's arguments as the model writes them. Informational: the complete call
   * follows as `tool-call`. It shows the response is alive while a long argument (a whole file) streams.
   */
  | { type: "tool-input-delta"; toolCallId: string; delta: string }
  /**
   * A complete tool call. `input` is the parsed JSON arguments; when they are not valid JSON, `input`
   * is the raw string and `inputError` says why (the turn loop turns that into an error result).
   */
  | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown; inputError?: string }
  /** `inputTokens` counts the whole prompt, cached tokens included. */
  | { type: "usage"; usage: Usage }
  | { type: "finish"; reason: FinishReason };

/**
 * One message of the model-facing history. The conversation store's `HistoryMessage` (from
 * `loadHistory`) is assignable to this. Error chunks are dropped when the prompt is built; thinking
 * chunks are sent back to Anthropic only (with their signature), never to OpenAI-compatible servers.
 */
export interface HistoryMessage {
  messageId?: string;
  role: Role;
  chunks: readonly Chunk[];
}

/** A thinking chunk may carry the provider's signature (see `reasoning-signature`). */
export interface ThinkingChunkWithSignature {
  type: "thinking";
  text: string;
  signature?: string;
}

/** A tool as the model sees it. `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  /**
   * The history, valid for the duration of this call: the orchestrator holds it across steps and
   * appends to it afterwards, so a model that keeps it past the call must copy it.
   */
  messages: readonly HistoryMessage[];
  /** System prompt, sent before any system messages of the history. */
  system?: string;
  tools: readonly ToolSpec[];
  /** OpenAI-compatible: `reasoning_effort` (xhigh/max clamp to high); Anthropic: thinking budget/effort. */
  reasoningEffort?: ReasoningEffort;
  maxOutputTokens?: number;
  /** Aborting cancels the HTTP request; the stream then throws `PROVIDER_ABORTED`. */
  signal: AbortSignal;
}

/** What is known about a model; unknown fields are absent. */
export interface ModelInfo {
  contextWindow?: number;
  vision?: boolean;
}

export interface LanguageModel {
  /** `<credential>/<model>`, e.g. `local/echo`, `default/llama3.1`, `openrouter/anthropic/claude-3.5-sonnet`. */
  readonly name: string;
  readonly info: ModelInfo;
  /** Streams one response. Throws `ProviderError` (also from the iterator) on any failure. */
  stream(request: ModelRequest): AsyncIterable<ProviderPart>;
}

export interface ModelEntry {
  name: string;
  info: ModelInfo;
}

export type CatalogErrorCode =
  | "PROVIDER_UNKNOWN_MODEL"
  | "PROVIDER_UNKNOWN_CREDENTIAL"
  | "PROVIDER_MISSING_API_KEY";

export interface CatalogError {
  code: CatalogErrorCode;
  /** Names the model or credential and how to fix it. */
  message: string;
}

export type ResolveResult = { ok: true; value: LanguageModel } | { ok: false; error: CatalogError };

export interface ModelCatalog {
  /** Every known model: configured ones, listed ones (by their kind, at activation), then the built-in kinds' (`local/*`). */
  list(): ModelEntry[];
  /**
   * The model to use when none is chosen; a built-in kind's default (`local/echo`) only when no
   * credential is configured.
   * A credential without any known model gives `<credential>/`, which fails to resolve with the fix.
   */
  defaultModel(): string;
  /**
   * `<credential>/<model>`. A model id a credential did not list still resolves (servers accept ids
   * they don't list); a bare id resolves when exactly one credential lists it.
   */
  resolve(name: string): ResolveResult;
}

export const ModelCatalog = defineService<ModelCatalog>("providers/catalog");

export type ProviderErrorCode =
  /** HTTP error status other than 401/403/429 (`status` set; 408, 409 and 5xx are retryable). */
  | "PROVIDER_HTTP_ERROR"
  /** HTTP 429; `retryAfterMs` from `retry-after` when sent. */
  | "PROVIDER_RATE_LIMITED"
  /** HTTP 401/403 with a configured key: the key is wrong or lacks access. */
  | "PROVIDER_AUTH"
  /** HTTP 401/403 and the credential has no key; the message names the variable or setting to set. */
  | "PROVIDER_MISSING_API_KEY"
  /** Connection refused/reset, or the stream ended before the response was complete. */
  | "PROVIDER_NETWORK"
  /** The provider sent something that is not a valid response (malformed stream line, bad JSON). */
  | "PROVIDER_BAD_RESPONSE"
  /** The provider reported an error inside the stream (e.g. Anthropic `overloaded_error`). */
  | "PROVIDER_STREAM_ERROR"
  /** The request's signal was aborted. */
  | "PROVIDER_ABORTED"
  /** The request could not be built for this provider (e.g. unsupported content). */
  | "PROVIDER_INVALID_REQUEST"
  /** The provider configuration is invalid (thrown at activation). */
  | "PROVIDER_INVALID_CONFIG"
  /** The offline local model was told to fail (`/fail`). */
  | "PROVIDER_LOCAL_FAILURE";

/**
 * A failed model call. `retryable` is true only for transient failures (429, 408/409/5xx, network
 * resets, overload) that happened before the stream yielded anything. Messages never contain secrets.
 */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly code: ProviderErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** The request URL without user info or query (safe to log), when known. */
  readonly url?: string;

  constructor(
    code: ProviderErrorCode,
    message: string,
    options: { status?: number; retryable?: boolean; retryAfterMs?: number; url?: string } = {},
  ) {
    super(message);
    this.code = code;
    this.retryable = options.retryable ?? false;
    if (options.status !== undefined) this.status = options.status;
    if (options.url !== undefined) this.url = options.url;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export function isProviderError(e: unknown, code?: ProviderErrorCode): e is ProviderError {
  return e instanceof ProviderError && (code === undefined || e.code === code);
}
