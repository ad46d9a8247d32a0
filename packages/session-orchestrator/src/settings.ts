import type { ConversationRecord, WorkspaceStore } from "@dispatch/conversation-store";
import type { ConversationSettings } from "./contract";

/** The cwd turns of `r` run in: its own cwd, else its workspace's default cwd, else `fallback`. */
export function effectiveCwd(
  store: { workspaces: WorkspaceStore },
  r: ConversationRecord | undefined,
  fallback: string,
): string {
  if (r?.cwd) return r.cwd;
  const ws = r ? store.workspaces.getWorkspace(r.workspaceId) : undefined;
  return ws?.defaultCwd ?? fallback;
}

export function settingsOf(
  store: { workspaces: WorkspaceStore },
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
