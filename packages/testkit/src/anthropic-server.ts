import {
  type Frame,
  fragments,
  type ScriptedServer,
  sseEvent,
  startScriptedServer,
  type WireResponse,
} from "./scripted-server";

/** One scripted step of an Anthropic Messages stream. Consecutive steps of one kind share a block. */
export type AnthropicStep =
  | { type: "text"; text: string }
  | { type: "thinking"; text: string }
  /** A `signature_delta` for the current thinking block. */
  | { type: "signature"; signature: string }
  /** A `tool_use` block whose `input_json_delta`s are the fragments of `args`. */
  | { type: "tool-use"; id: string; name: string; args: string[] }
  /** `message_delta` with the stop reason and output tokens, then `message_stop`. */
  | { type: "stop"; reason: "end_turn" | "tool_use" | "max_tokens" | (string & {}); outputTokens?: number }
  /** An in-stream `error` event, e.g. `overloaded_error`. */
  | { type: "error"; errorType: string; message: string }
  | { type: "raw"; data: string }
  | { type: "delay"; ms: number }
  | { type: "cut" }
  | { type: "hang" };

export type AnthropicResponse =
  | {
      type: "stream";
      steps: AnthropicStep[];
      model?: string;
      usage?: { inputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number };
    }
  | { type: "error"; status: number; errorType?: string; message?: string; retryAfter?: number };

export type AnthropicServer = ScriptedServer<AnthropicResponse>;

/** A loopback server speaking the Anthropic Messages streaming format (`POST /v1/messages`, `GET /v1/models`). */
export function startAnthropicServer(
  options: { apiKey?: string; models?: string[] /** default "/v1" */; prefix?: string } = {},
): AnthropicServer {
  const models = options.models ?? ["claude-test"];
  return startScriptedServer<AnthropicResponse>({
    prefix: options.prefix ?? "/v1",
    scriptedRoute: "POST /messages",
    encode: encodeAnthropic,
    staticRoutes: {
      "GET /models": () => ({
        type: "http",
        status: 200,
        body: JSON.stringify({
          data: models.map((id) => ({
            type: "model",
            id,
            display_name: id,
            created_at: "2025-01-01T00:00:00Z",
          })),
          has_more: false,
        }),
      }),
    },
    authorize: (headers) =>
      options.apiKey === undefined || headers.get("x-api-key") === options.apiKey
        ? undefined
        : anthropicErrorBody(401, "authentication_error", "invalid x-api-key"),
  });
}

function anthropicErrorBody(status: number, errorType: string, message: string): WireResponse {
  return {
    type: "http",
    status,
    body: JSON.stringify({ type: "error", error: { type: errorType, message } }),
  };
}

type BlockKind = "text" | "thinking" | "tool-use";

/** Pure: turns a scripted response into wire frames, opening and closing content blocks as needed. */
export function encodeAnthropic(response: AnthropicResponse): WireResponse {
  if (response.type === "error") {
    const wire = anthropicErrorBody(
      response.status,
      response.errorType ?? (response.status === 429 ? "rate_limit_error" : "api_error"),
      response.message ?? `scripted HTTP ${response.status}`,
    );
    return response.retryAfter !== undefined
      ? { ...wire, headers: { "retry-after": String(response.retryAfter) } }
      : wire;
  }
  const usage = response.usage ?? { inputTokens: 10 };
  const frames: Frame[] = [
    sseEvent(
      {
        type: "message_start",
        message: {
          id: "msg_testkit",
          type: "message",
          role: "assistant",
          content: [],
          model: response.model ?? "claude-test",
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: usage.inputTokens,
            output_tokens: 1,
            cache_creation_input_tokens: usage.cacheWriteTokens ?? 0,
            cache_read_input_tokens: usage.cacheReadTokens ?? 0,
          },
        },
      },
      "message_start",
    ),
  ];
  let index = -1;
  let open: BlockKind | undefined;
  const event = (data: Record<string, unknown>): void => {
    frames.push(sseEvent(data, String(data.type)));
  };
  const closeBlock = (): void => {
    if (open !== undefined) event({ type: "content_block_stop", index });
    open = undefined;
  };
  const openBlock = (kind: BlockKind, block: Record<string, unknown>): void => {
    closeBlock();
    index++;
    open = kind;
    event({ type: "content_block_start", index, content_block: block });
  };
  for (const step of response.steps) {
    switch (step.type) {
      case "text":
        if (open !== "text") openBlock("text", { type: "text", text: "" });
        event({ type: "content_block_delta", index, delta: { type: "text_delta", text: step.text } });
        break;
      case "thinking":
        if (open !== "thinking") openBlock("thinking", { type: "thinking", thinking: "" });
        event({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: step.text } });
        break;
      case "signature":
        event({
          type: "content_block_delta",
          index,
          delta: { type: "signature_delta", signature: step.signature },
        });
        break;
      case "tool-use":
        openBlock("tool-use", { type: "tool_use", id: step.id, name: step.name, input: {} });
        for (const part of step.args) {
          event({
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: part },
          });
        }
        break;
      case "stop":
        closeBlock();
        event({
          type: "message_delta",
          delta: { stop_reason: step.reason, stop_sequence: null },
          usage: { output_tokens: step.outputTokens ?? 1 },
        });
        event({ type: "message_stop" });
        break;
      case "error":
        event({ type: "error", error: { type: step.errorType, message: step.message } });
        break;
      case "raw":
        frames.push({ type: "write", data: step.data });
        break;
      case "delay":
        frames.push({ type: "delay", ms: step.ms });
        break;
      case "cut":
      case "hang":
        frames.push({ type: step.type });
        return { type: "stream", frames };
    }
  }
  return { type: "stream", frames };
}

/** A complete Anthropic text answer (optionally after thinking with a signature), ending `end_turn`. */
export function anthropicText(
  text: string,
  options: {
    thinking?: string;
    outputTokens?: number;
    usage?: { inputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number };
  } = {},
): AnthropicResponse {
  const steps: AnthropicStep[] = [];
  if (options.thinking) {
    steps.push({ type: "thinking", text: options.thinking }, { type: "signature", signature: "sig-testkit" });
  }
  for (const word of text.match(/\S+\s*|\s+/g) ?? [text]) steps.push({ type: "text", text: word });
  steps.push({ type: "stop", reason: "end_turn", outputTokens: options.outputTokens ?? 5 });
  return { type: "stream", steps, ...(options.usage ? { usage: options.usage } : {}) };
}

/** An Anthropic tool_use answer with the input JSON split into fragments, ending `tool_use`. */
export function anthropicToolUse(calls: { id: string; name: string; args: unknown }[]): AnthropicResponse {
  const steps: AnthropicStep[] = calls.map((call) => ({
    type: "tool-use",
    id: call.id,
    name: call.name,
    args: fragments(typeof call.args === "string" ? call.args : JSON.stringify(call.args), 7),
  }));
  steps.push({ type: "stop", reason: "tool_use", outputTokens: 5 });
  return { type: "stream", steps };
}
