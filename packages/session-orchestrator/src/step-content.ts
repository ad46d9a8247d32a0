import type { Chunk, ToolCallChunk, ToolResultChunk } from "@dispatch/protocol/types";
import type { ThinkingChunkWithSignature } from "@dispatch/providers";

export interface PendingToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
  /** Set when the model's arguments were not valid JSON (`input` is then the raw text). */
  inputError?: string;
}

/**
 * The assistant content of one step, assembled from streamed parts in arrival order: consecutive text
 * (or reasoning) deltas merge into one chunk, tool calls are kept as their own chunks.
 */
export class StepContent {
  private readonly chunks: Chunk[] = [];
  readonly toolCalls: PendingToolCall[] = [];

  constructor(private readonly stepId: string) {}

  /** True once anything the user can see was received (retries are allowed only before that). */
  get hasContent(): boolean {
    return this.chunks.length > 0;
  }

  addText(delta: string): void {
    this.append("text", delta);
  }

  addReasoning(delta: string): void {
    this.append("thinking", delta);
  }

  addToolCall(call: PendingToolCall): void {
    this.toolCalls.push(call);
    const chunk: ToolCallChunk = {
      type: "tool-call",
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: call.input,
      stepId: this.stepId,
    };
    this.chunks.push(chunk);
  }

  /** The assistant message's chunks (copies), plus an optional trailing error chunk. */
  assistantChunks(error?: { message: string; code?: string }): Chunk[] {
    const out = this.chunks.map((c) => ({ ...c }));
    if (error)
      out.push({ type: "error", message: error.message, ...(error.code ? { code: error.code } : {}) });
    return out;
  }

  /** Attaches a provider's signature to the latest thinking chunk (Anthropic needs it sent back). */
  signReasoning(signature: string): void {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i];
      if (c?.type === "thinking") {
        (c as ThinkingChunkWithSignature).signature = signature;
        return;
      }
    }
  }

  private append(type: "text" | "thinking", delta: string): void {
    if (delta === "") return;
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.type === type) last.text += delta;
    else this.chunks.push({ type, text: delta });
  }
}

/** Pure: the tool-result chunk stored for a finished call. */
export function resultChunk(
  call: PendingToolCall,
  stepId: string,
  result: { content: string; isError: boolean },
): ToolResultChunk {
  return {
    type: "tool-result",
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    content: result.content,
    isError: result.isError,
    stepId,
  };
}

/**
 * Pure: cuts `content` to at most `cap` characters, keeping the head and the tail and saying how much
 * was left out, so the model knows the output is incomplete.
 */
export function capOutput(content: string, cap: number): string {
  if (content.length <= cap) return content;
  const note = (omitted: number) => `\n[… ${omitted} characters omitted …]\n`;
  const room = cap - note(content.length).length;
  if (room <= 0) return content.slice(0, cap);
  const head = Math.ceil(room * 0.75);
  const tail = room - head;
  const omitted = content.length - head - tail;
  return content.slice(0, head) + note(omitted) + (tail > 0 ? content.slice(content.length - tail) : "");
}
