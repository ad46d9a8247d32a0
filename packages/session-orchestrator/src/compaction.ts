import type { HistoryMessage } from "@dispatch/conversation-store/contract";
import type { Chunk } from "@dispatch/protocol/types";
import type { LanguageModel, ModelCatalog } from "@dispatch/providers/contract";
import type { CompactResult, Result } from "./contract";
import { fail, modelRefusal, unknownConversation } from "./result";
import { messageOf } from "./run-tool";
import type { OrchestratorStores } from "./stores";
import type { StreamTimeouts } from "./timeouts";
import { withStreamTimeouts } from "./timeouts";

export interface CompactionPlan {
  summarize: HistoryMessage[];
  keep: HistoryMessage[];
}

/**
 * Pure: splits the model view into the older messages to summarize and the last `keepLastN` to keep.
 * The kept part never starts with a `tool` message, so a tool call always stays with its result (more
 * messages are kept when needed). Undefined when there is nothing worth summarizing (no older messages,
 * or only the summary of a previous compaction).
 */
export function planCompaction(
  messages: readonly HistoryMessage[],
  keepLastN: number,
): CompactionPlan | undefined {
  let start = Math.max(0, messages.length - Math.max(0, Math.floor(keepLastN)));
  while (start > 0 && messages[start]?.role === "tool") start--;
  const summarize = messages.slice(0, start);
  if (summarize.length === 0 || summarize.every((m) => m.role === "system")) return undefined;
  return { summarize, keep: messages.slice(start) };
}

/** Pure: whether the last turn used more than `share` of the model's context window. */
export function shouldAutoCompact(
  lastInputTokens: number | undefined,
  contextWindow: number | undefined,
  share: number,
) {
  return (
    lastInputTokens !== undefined && contextWindow !== undefined && lastInputTokens > share * contextWindow
  );
}

const TRANSCRIPT_RESULT_CAP = 2_000;

function renderChunk(c: Chunk): string | undefined {
  switch (c.type) {
    case "text":
    case "system":
      return c.text;
    case "thinking":
      return undefined;
    case "tool-call":
      return `[tool call ${c.toolName} ${JSON.stringify(c.input)}]`;
    case "tool-result": {
      const body =
        c.content.length > TRANSCRIPT_RESULT_CAP
          ? `${c.content.slice(0, TRANSCRIPT_RESULT_CAP)} …`
          : c.content;
      return `[tool result ${c.toolName}${c.isError ? " (error)" : ""}]\n${body}`;
    }
    case "error":
      return `[error ${c.message}]`;
    case "image":
      return "[image]";
  }
}

/** Pure: the messages as a plain transcript (robust across providers: no tool-call pairing rules). */
export function renderTranscript(messages: readonly HistoryMessage[]): string {
  const out: string[] = [];
  for (const m of messages) {
    const parts = m.chunks.map(renderChunk).filter((s): s is string => s !== undefined && s !== "");
    if (parts.length > 0) out.push(`## ${m.role}\n${parts.join("\n")}`);
  }
  return out.join("\n\n");
}

const SUMMARY_SYSTEM =
  "You summarize a conversation between a user and a coding agent so that the agent can continue the work " +
  "from the summary alone. Keep the user's goals and constraints, decisions taken, files read or changed and " +
  "their current state, commands run and what they showed, errors, open questions and the next steps. " +
  "Be factual and concise; use short sections and bullet points. Do not address the user.";

export const SUMMARY_HEADER = "Summary of the earlier conversation (compacted):";

/** Asks `model` for a summary of `messages`; the text, or a readable failure. */
export async function summarize(
  model: LanguageModel,
  messages: readonly HistoryMessage[],
  timeouts: StreamTimeouts,
  signal: AbortSignal,
): Promise<Result<string>> {
  const controller = new AbortController();
  const request = {
    system: SUMMARY_SYSTEM,
    messages: [
      {
        role: "user" as const,
        chunks: [
          { type: "text" as const, text: `Summarize this conversation:\n\n${renderTranscript(messages)}` },
        ],
      },
    ],
    tools: [],
    signal: AbortSignal.any([signal, controller.signal]),
  };
  let text = "";
  try {
    for await (const part of withStreamTimeouts(model.stream(request), timeouts, signal, (e) =>
      controller.abort(e),
    )) {
      if (part.type === "text-delta") text += part.delta;
    }
  } catch (err) {
    return fail("ORCH_COMPACTION_FAILED", `summarizing failed: ${messageOf(err)}`);
  }
  text = text.trim();
  if (text === "") return fail("ORCH_COMPACTION_FAILED", `model ${model.name} returned an empty summary`);
  return { ok: true, value: text };
}

export interface ApplyCompaction {
  store: Pick<OrchestratorStores, "conversations" | "log">;
  conversationId: string;
  plan: CompactionPlan;
  summary: string;
  archiveId: string;
}

/**
 * Writes a compaction, non-destructively and atomically (one store transaction, `appendCompaction`):
 * - an archive conversation (closed, `compactedFrom` = the original) gets a copy of the raw log of the
 *   summarized range;
 * - the original gets a `system` summary chunk (the compaction marker) followed by copies of the kept
 *   messages — re-read now, so anything appended while the summary was generated (a queued turn's user
 *   message) is kept too — and its model view (`historyStartSeq`) moves to the marker.
 * Its log stays whole and its seq keeps growing; a crash leaves either the old view or the new one.
 */
function applyCompaction(a: ApplyCompaction): Result<CompactResult> {
  const { store, conversationId, plan } = a;
  const failed = (message: string) =>
    fail<CompactResult>("ORCH_STORE_FAILED", `compaction of "${conversationId}": ${message}`);
  const conv = store.conversations.getConversation(conversationId);
  if (!conv) return unknownConversation(conversationId);
  const keptFromSeq = plan.keep[0]?.firstSeq ?? conv.lastSeq + 1;

  const kept =
    keptFromSeq <= conv.lastSeq ? store.log.loadHistory(conversationId, { fromSeq: keptFromSeq }) : undefined;
  if (kept && !kept.ok) return failed(kept.error.message);
  const keptMessages = kept?.value.messages ?? [];
  const written = store.log.appendCompaction(conversationId, {
    archive: {
      conversation: {
        id: a.archiveId,
        workspaceId: conv.workspaceId,
        title: conv.title ? `${conv.title} (archived)` : "archived",
        status: "closed",
        compactedFrom: conversationId,
        ...(conv.model ? { model: conv.model } : {}),
        ...(conv.cwd ? { cwd: conv.cwd } : {}),
      },
      fromSeq: conv.historyStartSeq,
      uptoSeq: keptFromSeq - 1,
    },
    messages: [
      {
        messageId: crypto.randomUUID(),
        role: "system",
        chunks: [{ type: "system", text: `${SUMMARY_HEADER}\n\n${a.summary}` }],
      },
      ...keptMessages.map((m) => ({
        messageId: crypto.randomUUID(),
        role: m.role,
        chunks: m.chunks,
        ...(m.turnId ? { turnId: m.turnId } : {}),
      })),
    ],
  });
  if (!written.ok) return failed(written.error.message);
  return {
    ok: true,
    value: {
      conversationId,
      newConversationId: a.archiveId,
      messagesSummarized: plan.summarize.length,
      messagesKept: keptMessages.length,
    },
  };
}

export interface CompactDeps {
  store: Pick<OrchestratorStores, "conversations" | "log">;
  catalog: ModelCatalog;
  timeouts: StreamTimeouts;
}

/**
 * Plans, summarizes (with the conversation's model) and applies one compaction. Nothing is written
 * unless the summary succeeded and `signal` was not aborted.
 */
export async function compactConversation(
  deps: CompactDeps,
  conversationId: string,
  keepLastN: number,
  signal: AbortSignal,
): Promise<Result<CompactResult>> {
  const { store, catalog } = deps;
  const record = store.conversations.getConversation(conversationId);
  if (!record) return unknownConversation(conversationId);
  const history = store.log.loadHistory(conversationId);
  if (!history.ok) return fail("ORCH_STORE_FAILED", history.error.message);
  const plan = planCompaction(history.value.messages, keepLastN);
  if (!plan) {
    return fail(
      "ORCH_NOTHING_TO_COMPACT",
      `conversation "${conversationId}" has no older messages to summarize`,
    );
  }
  const model = catalog.resolve(record.model ?? catalog.defaultModel());
  if (!model.ok) return modelRefusal(model.error);
  const summary = await summarize(model.value, plan.summarize, deps.timeouts, signal);
  if (!summary.ok) return summary;
  if (signal.aborted) return fail("ORCH_COMPACTION_FAILED", "compaction was cancelled");
  return applyCompaction({
    store,
    conversationId,
    plan,
    summary: summary.value,
    archiveId: crypto.randomUUID(),
  });
}
