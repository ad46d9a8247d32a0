import type { ConversationRecord, ConversationStore } from "@dispatch/conversation-store";
import type { ConversationSettings } from "./contract";

/** The cwd turns of `r` run in: its own cwd, else its workspace's default cwd, else `fallback`. */
export function effectiveCwd(
  store: ConversationStore,
  r: ConversationRecord | undefined,
  fallback: string,
): string {
  if (r?.cwd) return r.cwd;
  const ws = r ? store.getWorkspace(r.workspaceId) : undefined;
  return ws?.defaultCwd ?? fallback;
}

export function settingsOf(
  store: ConversationStore,
  r: ConversationRecord,
  fallbackCwd: string,
): ConversationSettings {
  return {
    conversationId: r.id,
    title: r.title,
    workspaceId: r.workspaceId,
    ...(r.model !== undefined ? { model: r.model } : {}),
    ...(r.cwd !== undefined ? { cwd: r.cwd } : {}),
    ...(r.reasoningEffort !== undefined ? { reasoningEffort: r.reasoningEffort } : {}),
    effectiveCwd: effectiveCwd(store, r, fallbackCwd),
  };
}
