/**
 * The running step's durable content (table `inflight_parts`, schema v3) and its promotion into the
 * log at boot recovery. Rows are only ever appended while a step runs and deleted when it settles
 * (appendStep `settleInflight`) or is promoted, so a flush is one small INSERT of what is new.
 */
import type { Chunk, ToolCallChunk, ToolResultChunk } from "@dispatch/protocol/types";
import {
  type AppendMessage,
  type InflightPart,
  type InterruptedToolRun,
  STEP_INTERRUPTED_CODE,
} from "./contract";

export interface InflightRow {
  conversation_id: string;
  part: number;
  turn_id: string;
  step_id: string;
  message_id: string;
  kind: InflightPart["kind"];
  body: string;
}

/** Pure: the `kind` and `body` columns of a part. */
export function encodePart(p: InflightPart): { kind: InflightPart["kind"]; body: string } {
  switch (p.kind) {
    case "text":
    case "thinking":
      return { kind: p.kind, body: p.text };
    case "tool-call":
      return { kind: p.kind, body: JSON.stringify(p.chunk) };
    case "tool-start":
      return { kind: p.kind, body: JSON.stringify({ toolCallId: p.toolCallId, runId: p.runId }) };
  }
}

export const NOT_RUN_RESULT = "not run: the daemon stopped before this tool call ran";
export const RUN_INTERRUPTED_RESULT =
  "interrupted: the daemon stopped while this tool call ran; processes it left were killed at restart";

export interface Promotion {
  messages: AppendMessage[];
  runs: InterruptedToolRun[];
}

/**
 * Pure: the messages one conversation's in-flight rows (ascending `part`) become: the assistant
 * message (consecutive text or reasoning rows merged into one chunk, tool calls kept, then an error
 * chunk saying the step was interrupted and how much was kept) and a tool message answering each
 * tool call. Rows that cannot be decoded are skipped.
 */
export function promoteInflight(rows: readonly InflightRow[]): Promotion {
  const first = rows[0];
  if (!first) return { messages: [], runs: [] };
  const chunks: Chunk[] = [];
  const calls: ToolCallChunk[] = [];
  const started = new Map<string, string>();
  let chars = 0;
  for (const row of rows) {
    if (row.kind === "text" || row.kind === "thinking") {
      const type = row.kind;
      chars += row.body.length;
      const last = chunks[chunks.length - 1];
      if (last && last.type === type) last.text += row.body;
      else chunks.push({ type, text: row.body });
      continue;
    }
    const value = parse(row.body);
    if (row.kind === "tool-call" && isToolCall(value)) {
      calls.push(value);
      chunks.push(value);
    } else if (row.kind === "tool-start" && isStart(value)) started.set(value.toolCallId, value.runId);
  }
  const turnId = first.turn_id;
  const kept = chars === 1 ? "1 character" : `${chars} characters`;
  chunks.push({
    type: "error",
    code: STEP_INTERRUPTED_CODE,
    message: `interrupted: the daemon stopped during this step; kept what was streamed before (${kept}${calls.length > 0 ? `, ${calls.length} tool call(s)` : ""})`,
  });
  const messages: AppendMessage[] = [{ messageId: first.message_id, role: "assistant", chunks, turnId }];
  const runs: InterruptedToolRun[] = [];
  if (calls.length > 0) {
    const results: ToolResultChunk[] = calls.map((c) => {
      const runId = started.get(c.toolCallId);
      if (runId !== undefined)
        runs.push({
          conversationId: first.conversation_id,
          turnId,
          toolCallId: c.toolCallId,
          toolName: c.toolName,
          runId,
        });
      return {
        type: "tool-result",
        toolCallId: c.toolCallId,
        toolName: c.toolName,
        content: runId !== undefined ? RUN_INTERRUPTED_RESULT : NOT_RUN_RESULT,
        isError: true,
        ...(c.stepId !== undefined ? { stepId: c.stepId } : {}),
      };
    });
    messages.push({ messageId: `${first.message_id}#results`, role: "tool", chunks: results, turnId });
  }
  return { messages, runs };
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function isToolCall(v: unknown): v is ToolCallChunk {
  const c = v as ToolCallChunk | undefined;
  return c?.type === "tool-call" && typeof c.toolCallId === "string" && typeof c.toolName === "string";
}

function isStart(v: unknown): v is { toolCallId: string; runId: string } {
  const s = v as { toolCallId?: unknown; runId?: unknown } | undefined;
  return typeof s?.toolCallId === "string" && typeof s.runId === "string";
}
