import type { InflightPart } from "@dispatch/conversation-store/contract";
import type { Chunk, ImageChunk, ToolCallChunk, ToolResultChunk } from "@dispatch/protocol/types";
import type { ThinkingChunkWithSignature } from "@dispatch/providers/contract";

export interface PendingToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
  /** Set when the model's arguments were not valid JSON (`input` is then the raw text). */
  inputError?: string;
}

/** Receives the growth of a step's streamed content (the in-flight writer schedules its flush). */
export interface ContentSink {
  /** `chars` more text or reasoning (0 for a tool call) is waiting to be flushed. */
  grew(chars: number): void;
}

/**
 * The assistant content of one step, assembled from streamed parts in arrival order: consecutive text
 * (or reasoning) deltas merge into one chunk, tool calls are kept as their own chunks.
 *
 * The open text chunk is kept as its list of deltas (joined when it closes), so a flush can take just
 * what is new (`takeUnflushed`) in time linear in the new text: no per-token copy and no re-reading
 * of what was already flushed.
 */
export class StepContent {
  private readonly chunks: Chunk[] = [];
  readonly toolCalls: PendingToolCall[] = [];
  private openType: "text" | "thinking" | undefined;
  private openParts: string[] = [];
  private openSignature: string | undefined;
  /** Deltas of the open chunk already handed to `takeUnflushed`. */
  private flushedParts = 0;
  /** Closed content not yet handed to `takeUnflushed` (only with a sink). */
  private pending: InflightPart[] = [];
  /** Characters of text and reasoning so far, plus tool arguments streamed (the per-step cap counts them). */
  chars = 0;

  constructor(
    private readonly stepId: string,
    private readonly sink?: ContentSink,
  ) {}

  /** True once anything the user can see was received (retries are allowed only before that). */
  get hasContent(): boolean {
    return this.chunks.length > 0 || this.openType !== undefined;
  }

  addText(delta: string): void {
    this.append("text", delta);
  }

  addReasoning(delta: string): void {
    this.append("thinking", delta);
  }

  addToolCall(call: PendingToolCall): void {
    this.close();
    this.toolCalls.push(call);
    const chunk: ToolCallChunk = {
      type: "tool-call",
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: call.input,
      stepId: this.stepId,
    };
    this.chunks.push(chunk);
    if (this.sink) {
      this.pending.push({ kind: "tool-call", chunk });
      this.sink.grew(0);
    }
  }

  /** The assistant message's chunks (copies), plus an optional trailing error chunk. */
  assistantChunks(error?: { message: string; code?: string }): Chunk[] {
    this.close();
    const out = this.chunks.map((c) => ({ ...c }));
    if (error)
      out.push({ type: "error", message: error.message, ...(error.code ? { code: error.code } : {}) });
    return out;
  }

  /** What streamed since the previous call, merged per chunk, in order (for the in-flight rows). */
  takeUnflushed(): InflightPart[] {
    const out = this.pending;
    this.pending = [];
    if (this.openType !== undefined && this.openParts.length > this.flushedParts) {
      out.push({ kind: this.openType, text: this.openParts.slice(this.flushedParts).join("") });
      this.flushedParts = this.openParts.length;
    }
    return out;
  }

  /** Attaches a provider's signature to the latest thinking chunk (Anthropic needs it sent back). */
  signReasoning(signature: string): void {
    if (this.openType === "thinking") {
      this.openSignature = signature;
      return;
    }
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
    if (this.openType !== type) {
      this.close();
      this.openType = type;
    }
    this.openParts.push(delta);
    this.chars += delta.length;
    this.sink?.grew(delta.length);
  }

  /** Closes the open text chunk: its deltas become one chunk, its unflushed tail a pending part. */
  private close(): void {
    const type = this.openType;
    if (type === undefined) return;
    const parts = this.openParts;
    if (this.sink && parts.length > this.flushedParts) {
      this.pending.push({ kind: type, text: parts.slice(this.flushedParts).join("") });
    }
    const chunk: Chunk = { type, text: parts.join("") };
    if (this.openSignature !== undefined)
      (chunk as ThinkingChunkWithSignature).signature = this.openSignature;
    this.chunks.push(chunk);
    this.openType = undefined;
    this.openParts = [];
    this.openSignature = undefined;
    this.flushedParts = 0;
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

/** Pure: the image chunks stored after a result's tool-result chunk (data URLs). */
export function resultImageChunks(result: {
  images?: readonly { data: string; mimeType: string }[];
}): ImageChunk[] {
  return (result.images ?? []).map((img) => ({
    type: "image",
    url: `data:${img.mimeType};base64,${img.data}`,
    mimeType: img.mimeType,
  }));
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
