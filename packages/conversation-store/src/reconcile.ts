/**
 * Pure: turns the raw log (decoded rows in seq order) into the model-facing history.
 *
 * - Chunks are regrouped by message id, messages ordered by their first chunk.
 * - A tool call with no tool result anywhere in the view gets a synthetic error result, in a `tool`
 *   message placed right after the message holding the call: a provider rejects a dangling call, and
 *   a crash or abort mid-tool must leave a conversation that can be continued.
 * - A tool result whose call is not in the view (e.g. it precedes `fromSeq`) is left out, since
 *   providers reject orphan results too.
 * - An assistant message left with only error chunks (a failed step) is left out; the raw log keeps it.
 */
import type { Chunk, Role, ToolCallChunk, ToolResultChunk } from "@dispatch/protocol/types";
import type { HistoryMessage } from "./contract";

export interface LogRow {
  seq: number;
  messageId: string;
  role: Role;
  chunk: Chunk;
  turnId?: string;
}

export const INTERRUPTED_TOOL_RESULT = "interrupted: tool did not complete";

/** Suffix of the message id reconcile gives a synthetic results message. */
export const SYNTHETIC_SUFFIX = "#interrupted";

interface Group {
  message: HistoryMessage;
  /** Seq of each chunk, parallel to message.chunks. */
  seqs: number[];
}

/** Pure: the reconciled view of `rows` (which must be in ascending seq order). */
export function reconcile(rows: readonly LogRow[]): HistoryMessage[] {
  const groups = new Map<string, Group>();
  const calls = new Set<string>();
  const results = new Set<string>();
  for (const row of rows) {
    let group = groups.get(row.messageId);
    if (!group) {
      const message: HistoryMessage = {
        messageId: row.messageId,
        role: row.role,
        chunks: [],
        firstSeq: row.seq,
      };
      if (row.turnId !== undefined) message.turnId = row.turnId;
      group = { message, seqs: [] };
      groups.set(row.messageId, group);
    }
    group.message.chunks.push(row.chunk);
    group.seqs.push(row.seq);
    if (row.chunk.type === "tool-call") calls.add(row.chunk.toolCallId);
    else if (row.chunk.type === "tool-result") results.add(row.chunk.toolCallId);
  }

  const out: HistoryMessage[] = [];
  for (const { message, seqs } of groups.values()) {
    const chunks = message.chunks.filter((c) => c.type !== "tool-result" || calls.has(c.toolCallId));
    if (chunks.length === 0) continue;
    if (message.role === "assistant" && chunks.every((c) => c.type === "error")) continue;
    out.push(chunks.length === message.chunks.length ? message : { ...message, chunks });

    const synthetic: ToolResultChunk[] = [];
    let firstSeq = 0;
    message.chunks.forEach((c, i) => {
      if (c.type !== "tool-call" || results.has(c.toolCallId)) return;
      results.add(c.toolCallId); // a repeated call id is answered once
      if (synthetic.length === 0) firstSeq = seqs[i] ?? message.firstSeq;
      synthetic.push(interruptedResult(c));
    });
    if (synthetic.length > 0) {
      const answer: HistoryMessage = {
        messageId: message.messageId + SYNTHETIC_SUFFIX,
        role: "tool",
        chunks: synthetic,
        firstSeq,
        synthetic: true,
      };
      if (message.turnId !== undefined) answer.turnId = message.turnId;
      out.push(answer);
    }
  }
  return out;
}

function interruptedResult(call: ToolCallChunk): ToolResultChunk {
  const r: ToolResultChunk = {
    type: "tool-result",
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    content: INTERRUPTED_TOOL_RESULT,
    isError: true,
  };
  if (call.stepId !== undefined) r.stepId = call.stepId;
  return r;
}
