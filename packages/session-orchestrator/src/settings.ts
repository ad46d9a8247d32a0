import type { ConversationRecord, WorkspaceStore } from "@dispatch/conversation-store/contract";
import type { ModelCatalog } from "@dispatch/providers/contract";
import type { ConversationSettings, ConversationSettingsService, Result, SettingsPatch } from "./contract";
import { fail, modelRefusal, unknownConversation } from "./result";
import type { OrchestratorStores } from "./stores";

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

export interface SettingsDeps {
  store: Pick<OrchestratorStores, "conversations" | "workspaces">;
  catalog: Pick<ModelCatalog, "resolve">;
  /** The cwd of conversations with neither their own cwd nor a workspace default. */
  defaultCwd: string;
}

/**
 * Reads and changes sticky settings straight on the store: no turn state is involved, so this is a
 * service of its own rather than a pass-through of the orchestrator. A model is checked against the
 * catalog before anything is written.
 */
export function createSettingsService(deps: SettingsDeps): ConversationSettingsService {
  const { store, catalog, defaultCwd } = deps;
  return {
    getSettings(conversationId: string): ConversationSettings | undefined {
      const r = store.conversations.getConversation(conversationId);
      return r ? settingsOf(store, r, defaultCwd) : undefined;
    },
    updateSettings(conversationId: string, patch: SettingsPatch): Result<ConversationSettings> {
      if (typeof patch.model === "string") {
        const resolved = catalog.resolve(patch.model);
        if (!resolved.ok) return modelRefusal(resolved.error);
      }
      if (!store.conversations.getConversation(conversationId)) {
        return unknownConversation(conversationId);
      }
      const r = store.conversations.updateConversation(conversationId, patch);
      if (!r.ok) {
        const code = r.error.code === "STORE_INVALID_INPUT" ? "ORCH_INVALID_REQUEST" : "ORCH_STORE_FAILED";
        return fail(code, r.error.message);
      }
      return { ok: true, value: settingsOf(store, r.value, defaultCwd) };
    },
  };
}
