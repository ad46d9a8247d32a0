import {
  type Frame,
  fragments,
  type ScriptedServer,
  sseEvent,
  startScriptedServer,
  type WireResponse,
} from "./scripted-server";

/** One scripted step of an OpenAI chat-completions stream. */
export type OpenAIStep =
  | { type: "text"; text: string }
  /** `delta.reasoning_content`, as vLLM, DeepSeek and Ollama emit it. */
  | { type: "reasoning"; text: string }
  /**
   * A tool call split across chunks: the first chunk carries `id` and `name` (and empty arguments), each
   * later chunk one fragment of `args`, each after `delayMs` when set (a model writing a long argument).
   */
  | { type: "tool-call"; index?: number; id: string; name: string; args: string[]; delayMs?: number }
  | { type: "usage"; promptTokens: number; completionTokens: number; cachedTokens?: number }
  | { type: "finish"; reason: "stop" | "tool_calls" | "length" | "content_filter" | (string & {}) }
  /** Written verbatim: malformed lines, comments, anything. Include the trailing blank line yourself. */
  | { type: "raw"; data: string }
  | { type: "delay"; ms: number }
  /** An in-stream error chunk, `data: {"error": {...}}`, as some servers send after a failure mid-stream. */
  | { type: "error-chunk"; message: string; code?: string }
  /**
   * Close the socket abruptly (connection reset), without `[DONE]`. The client's TCP stack may drop bytes
   * it had not read yet, so precede it with a `delay` when the client should see earlier chunks.
   */
  | { type: "cut" }
  /** End the body cleanly but early: no finish reason unless scripted, no `[DONE]`. */
  | { type: "end" }
  /** Stop sending; keep the response open until the client aborts. */
  | { type: "hang" }
  /** `data: [DONE]`; appended automatically when the steps end without cut/hang/done. */
  | { type: "done" };

export type OpenAIResponse =
  | { type: "stream"; steps: OpenAIStep[]; model?: string }
  | {
      type: "error";
      status: number;
      message?: string;
      /** Seconds, sent as a `retry-after` header. */
      retryAfter?: number;
      /** Raw body; replaces the OpenAI-style `{ error: { message } }`. */
      body?: string;
    };

export interface OpenAIServerOptions {
  /** Models listed by `GET /v1/models` (default `["test-model"]`): ids, or entries with extra fields. */
  models?: (string | { id: string; [field: string]: unknown })[];
  /** When set, every request must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** `GET /v1/models` never answers (to test listing timeouts). */
  hangModels?: boolean;
}

export type OpenAIServer = ScriptedServer<OpenAIResponse>;

/** A loopback server speaking the OpenAI chat-completions streaming format, scripted per test. */
export function startOpenAIServer(options: OpenAIServerOptions = {}): OpenAIServer {
  const models = options.models ?? ["test-model"];
  return startScriptedServer<OpenAIResponse>({
    prefix: "/v1",
    scriptedRoute: "POST /chat/completions",
    encode: encodeOpenAI,
    staticRoutes: {
      "GET /models": () =>
        options.hangModels
          ? { type: "stream", frames: [{ type: "hang" }] }
          : {
              type: "http",
              status: 200,
              body: JSON.stringify({
                object: "list",
                data: models.map((m) => ({
                  object: "model",
                  created: 0,
                  owned_by: "testkit",
                  ...(typeof m === "string" ? { id: m } : m),
                })),
              }),
            },
    },
    authorize: (headers) =>
      options.apiKey === undefined || headers.get("authorization") === `Bearer ${options.apiKey}`
        ? undefined
        : openAIErrorBody(401, "Incorrect API key provided"),
  });
}

function openAIErrorBody(status: number, message: string): WireResponse {
  return {
    type: "http",
    status,
    body: JSON.stringify({ error: { message, type: "testkit_error", param: null, code: null } }),
  };
}

/** Pure: turns a scripted response into wire frames. */
export function encodeOpenAI(response: OpenAIResponse): WireResponse {
  if (response.type === "error") {
    const wire = openAIErrorBody(response.status, response.message ?? `scripted HTTP ${response.status}`);
    return {
      ...wire,
      ...(response.body !== undefined ? { body: response.body } : {}),
      headers: response.retryAfter !== undefined ? { "retry-after": String(response.retryAfter) } : {},
    };
  }
  const model = response.model ?? "test-model";
  const base = { id: "chatcmpl-testkit", object: "chat.completion.chunk", created: 1_700_000_000, model };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): Frame =>
    sseEvent({ ...base, choices: [{ index: 0, delta, finish_reason: finishReason }] });

  const frames: Frame[] = [chunk({ role: "assistant", content: "" })];
  let terminated = false;
  for (const step of response.steps) {
    switch (step.type) {
      case "text":
        frames.push(chunk({ content: step.text }));
        break;
      case "reasoning":
        frames.push(chunk({ reasoning_content: step.text }));
        break;
      case "tool-call": {
        const index = step.index ?? 0;
        frames.push(
          chunk({
            tool_calls: [
              { index, id: step.id, type: "function", function: { name: step.name, arguments: "" } },
            ],
          }),
        );
        for (const part of step.args) {
          if (step.delayMs) frames.push({ type: "delay", ms: step.delayMs });
          frames.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
        }
        break;
      }
      case "usage":
        frames.push(
          sseEvent({
            ...base,
            choices: [],
            usage: {
              prompt_tokens: step.promptTokens,
              completion_tokens: step.completionTokens,
              total_tokens: step.promptTokens + step.completionTokens,
              ...(step.cachedTokens !== undefined
                ? { prompt_tokens_details: { cached_tokens: step.cachedTokens } }
                : {}),
            },
          }),
        );
        break;
      case "finish":
        frames.push(chunk({}, step.reason));
        break;
      case "raw":
        frames.push({ type: "write", data: step.data });
        break;
      case "delay":
        frames.push({ type: "delay", ms: step.ms });
        break;
      case "error-chunk":
        frames.push(
          sseEvent({ error: { message: step.message, type: "server_error", code: step.code ?? null } }),
        );
        break;
      case "done":
        frames.push(sseEvent("[DONE]"));
        terminated = true;
        break;
      case "end":
        terminated = true;
        break;
      case "cut":
      case "hang":
        frames.push({ type: step.type });
        terminated = true;
        break;
    }
    if (terminated) break;
  }
  if (!terminated) frames.push(sseEvent("[DONE]"));
  return { type: "stream", frames };
}

export interface ReplyOptions {
  reasoning?: string;
  usage?: { promptTokens: number; completionTokens: number; cachedTokens?: number };
  /** Milliseconds between chunks (default 0). */
  delayMs?: number;
}

/** A complete text answer streamed word by word, with optional reasoning first, then usage and `stop`. */
export function openaiText(text: string, options: ReplyOptions = {}): OpenAIResponse {
  const words = text.match(/\S+\s*|\s+/g) ?? [text];
  const steps: OpenAIStep[] = [];
  const pause = (): void => {
    if (options.delayMs) steps.push({ type: "delay", ms: options.delayMs });
  };
  if (options.reasoning) steps.push({ type: "reasoning", text: options.reasoning });
  for (const word of words) {
    pause();
    steps.push({ type: "text", text: word });
  }
  steps.push({ type: "finish", reason: "stop" });
  steps.push({ type: "usage", ...(options.usage ?? { promptTokens: 10, completionTokens: words.length }) });
  return { type: "stream", steps };
}

/** Tool calls whose JSON arguments are split into small fragments, finishing with `tool_calls`. */
export function openaiToolCalls(
  calls: { id: string; name: string; args: unknown }[],
  options: ReplyOptions & { text?: string } = {},
): OpenAIResponse {
  const steps: OpenAIStep[] = [];
  if (options.reasoning) steps.push({ type: "reasoning", text: options.reasoning });
  if (options.text) steps.push({ type: "text", text: options.text });
  calls.forEach((call, index) => {
    const json = typeof call.args === "string" ? call.args : JSON.stringify(call.args);
    steps.push({ type: "tool-call", index, id: call.id, name: call.name, args: fragments(json, 7) });
  });
  steps.push({ type: "finish", reason: "tool_calls" });
  steps.push({ type: "usage", ...(options.usage ?? { promptTokens: 10, completionTokens: 5 }) });
  return { type: "stream", steps };
}

/** An HTTP error response (e.g. 429 with `retryAfter` seconds, 500). */
export function openaiError(
  status: number,
  options: { message?: string; retryAfter?: number } = {},
): OpenAIResponse {
  return { type: "error", status, ...options };
}
