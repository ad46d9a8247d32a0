import type {
  ConversationPatch,
  ConversationRecord,
  EndTurn,
  TurnEndStatus,
} from "@dispatch/conversation-store/contract";
import type { AgentEventOf, Chunk, DoneReason } from "@dispatch/protocol/types";
import type { StartTurnRequest } from "./contract";
import type { TurnOutcome } from "./turn-loop";

/** The per-turn settings of a turn request (its message aside). */
export type TurnSettingsRequest = Omit<StartTurnRequest, "message" | "images">;

/**
 * Pure: the sticky settings a turn request changes on an existing conversation. A per-turn value
 * overrides and is remembered; the model actually used is remembered when none was set yet.
 */
export function stickyPatch(
  record: ConversationRecord,
  req: TurnSettingsRequest,
  modelName: string,
): ConversationPatch {
  return {
    ...(req.model !== undefined || record.model === undefined ? { model: modelName } : {}),
    ...(req.cwd !== undefined ? { cwd: req.cwd } : {}),
    ...(req.reasoningEffort !== undefined ? { reasoningEffort: req.reasoningEffort } : {}),
    ...(req.workspaceId !== undefined ? { workspaceId: req.workspaceId } : {}),
  };
}

/** Pure: the settings a new conversation is created with by its first turn. */
export function initialSettings(req: TurnSettingsRequest, modelName: string) {
  return {
    model: modelName,
    ...(req.workspaceId !== undefined ? { workspaceId: req.workspaceId } : {}),
    ...(req.cwd !== undefined ? { cwd: req.cwd } : {}),
    ...(req.reasoningEffort !== undefined ? { reasoningEffort: req.reasoningEffort } : {}),
  };
}

/** Pure: the chunks of the user message (its text, then its images). */
export function userMessageChunks(req: StartTurnRequest): Chunk[] {
  const chunks: Chunk[] = [{ type: "text", text: req.message }];
  for (const img of req.images ?? []) {
    chunks.push({ type: "image", url: img.url, ...(img.mimeType ? { mimeType: img.mimeType } : {}) });
  }
  return chunks;
}

const TURN_END_STATUS: Record<DoneReason, TurnEndStatus> = {
  stop: "completed",
  "tool-calls": "completed",
  length: "completed",
  "content-filter": "completed",
  "max-steps": "completed",
  other: "completed",
  error: "error",
  aborted: "aborted",
  interrupted: "interrupted",
};

/** Pure: the turn record's end. */
export function turnEnd(outcome: TurnOutcome, endedAt: number): EndTurn {
  return {
    status: TURN_END_STATUS[outcome.reason],
    endedAt,
    ...(outcome.usage ? { usage: outcome.usage } : {}),
    metrics: { ...outcome.metrics, ...(outcome.error ? { error: outcome.error } : {}) },
  };
}

/** Pure: the `done` event of a turn. */
export function doneEvent(
  base: { conversationId: string; turnId: string },
  outcome: TurnOutcome,
  durationMs: number,
): AgentEventOf<"done"> {
  return {
    ...base,
    type: "done",
    reason: outcome.reason,
    durationMs,
    ...(outcome.usage ? { usage: outcome.usage } : {}),
    ...(outcome.contextSize !== undefined ? { contextSize: outcome.contextSize } : {}),
  };
}

/** Pure: the outcome of a turn whose loop failed with a bug (the turn still ends properly). */
export function crashedOutcome(message: string): TurnOutcome {
  return { reason: "error", steps: 0, error: { message }, metrics: { steps: 0, genTotalMs: 0, toolMs: 0 } };
}
