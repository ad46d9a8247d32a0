import type {
  LanguageModelV4FilePart,
  LanguageModelV4FunctionTool,
  LanguageModelV4Message,
  LanguageModelV4Prompt,
  LanguageModelV4TextPart,
} from "@ai-sdk/provider";
import type { Chunk } from "@dispatch/protocol/types";
import type { HistoryMessage, ThinkingChunkWithSignature, ToolSpec } from "./contract";

type AssistantContent = Extract<LanguageModelV4Message, { role: "assistant" }>["content"];
type ToolContent = Extract<LanguageModelV4Message, { role: "tool" }>["content"];

/**
 * Pure: converts the model-facing history into the AI SDK prompt.
 *
 * - `system` and the system messages that lead the history become one system message; a system
 *   message later in the history becomes a user note (many chat templates reject late system turns).
 * - Error chunks are dropped; messages left empty are skipped.
 * - Tool results become tool messages (wherever they were stored), right after the content before them.
 * - A tool call whose stored input is not an object (arguments that were not valid JSON) is sent with
 *   `{}`: providers require object arguments, and the paired error result tells the model what failed.
 * - Image chunks of tool messages (images a tool returned) are sent, as a user message right after the
 *   tool results, only with `vision`; the result's text already describes them for other models.
 * - Thinking is sent back only with `keepReasoning` (Anthropic, which needs its signed blocks); several
 *   OpenAI-compatible servers reject `reasoning_content` in input messages.
 */
export function toPrompt(
  messages: readonly HistoryMessage[],
  system?: string,
  options: { keepReasoning?: boolean; vision?: boolean } = {},
): LanguageModelV4Prompt {
  const prompt: LanguageModelV4Prompt = [];
  const leadingSystem: string[] = system ? [system] : [];
  let leading = true;
  for (const message of messages) {
    if (message.role === "system" && leading) {
      const text = joinText(message.chunks);
      if (text) leadingSystem.push(text);
      continue;
    }
    leading = false;
    prompt.push(...convertMessage(message, options.keepReasoning ?? false, options.vision ?? false));
  }
  if (leadingSystem.length > 0) prompt.unshift({ role: "system", content: leadingSystem.join("\n\n") });
  return prompt;
}

function convertMessage(
  message: HistoryMessage,
  keepReasoning: boolean,
  vision: boolean,
): LanguageModelV4Message[] {
  const out: LanguageModelV4Message[] = [];
  let user: (LanguageModelV4TextPart | LanguageModelV4FilePart)[] = [];
  let assistant: AssistantContent = [];
  let tool: ToolContent = [];
  const flush = (): void => {
    if (user.length > 0) out.push({ role: "user", content: user });
    if (assistant.length > 0) out.push({ role: "assistant", content: assistant });
    if (tool.length > 0) out.push({ role: "tool", content: tool });
    user = [];
    assistant = [];
    tool = [];
  };
  const isAssistant = message.role === "assistant";
  for (const chunk of message.chunks) {
    if (chunk.type === "tool-result") {
      if (user.length > 0 || assistant.length > 0) flush();
      tool.push({
        type: "tool-result",
        toolCallId: chunk.toolCallId,
        toolName: chunk.toolName,
        output: chunk.isError
          ? { type: "error-text", value: chunk.content }
          : { type: "text", value: chunk.content },
      });
      continue;
    }
    if (chunk.type === "image" && message.role === "tool" && !vision) continue;
    if (tool.length > 0) flush();
    if (isAssistant) {
      const part = chunk.type === "thinking" && !keepReasoning ? undefined : assistantPart(chunk);
      if (part) assistant.push(part);
    } else {
      const part = userPart(chunk, message.role === "system");
      if (part) user.push(part);
    }
  }
  flush();
  return out;
}

function assistantPart(chunk: Chunk): AssistantContent[number] | undefined {
  switch (chunk.type) {
    case "text":
      return chunk.text ? { type: "text", text: chunk.text } : undefined;
    case "thinking": {
      if (!chunk.text) return undefined;
      const signature = (chunk as ThinkingChunkWithSignature).signature;
      return {
        type: "reasoning",
        text: chunk.text,
        ...(typeof signature === "string" ? { providerOptions: { anthropic: { signature } } } : {}),
      };
    }
    case "tool-call":
      return {
        type: "tool-call",
        toolCallId: chunk.toolCallId,
        toolName: chunk.toolName,
        input: isPlainObject(chunk.input) ? chunk.input : {},
      };
    case "system":
      return { type: "text", text: chunk.text };
    default:
      return undefined;
  }
}

function userPart(
  chunk: Chunk,
  fromSystem: boolean,
): LanguageModelV4TextPart | LanguageModelV4FilePart | undefined {
  switch (chunk.type) {
    case "text":
    case "system":
      if (!chunk.text) return undefined;
      return {
        type: "text",
        text: fromSystem || chunk.type === "system" ? `[system note] ${chunk.text}` : chunk.text,
      };
    case "image":
      return imagePart(chunk.url, chunk.mimeType);
    default:
      return undefined;
  }
}

/** Data URLs are sent inline as base64; other URLs by reference; an unparsable URL as a text note. */
function imagePart(
  url: string,
  mimeType: string | undefined,
): LanguageModelV4FilePart | LanguageModelV4TextPart {
  const data = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (data) {
    const mediaType = mimeType ?? data[1] ?? "image/png";
    const payload = data[3] ?? "";
    const base64 = data[2] ? payload : Buffer.from(decodeURIComponent(payload)).toString("base64");
    return { type: "file", mediaType, data: { type: "data", data: base64 } };
  }
  if (!URL.canParse(url)) return { type: "text", text: `[image: ${url}]` };
  return { type: "file", mediaType: mimeType ?? "image", data: { type: "url", url: new URL(url) } };
}

function joinText(chunks: readonly Chunk[]): string {
  return chunks
    .flatMap((c) => (c.type === "text" || c.type === "system" ? [c.text] : []))
    .filter((t) => t.length > 0)
    .join("\n");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Pure: tool specs as AI SDK function tools. */
export function toTools(tools: readonly ToolSpec[]): LanguageModelV4FunctionTool[] {
  return tools.map((t) => ({
    type: "function",
    name: t.name,
    description: t.description,
    inputSchema: t.parameters as LanguageModelV4FunctionTool["inputSchema"],
  }));
}
