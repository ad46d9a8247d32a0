/** The read commands' vocabulary (reads.ts decides and runs them); kept apart so contract.ts can name it. */
import type { ConversationListQuery, ConversationWindowQuery } from "@dispatch/protocol/types";
import type { SettingsPatch } from "@dispatch/session-orchestrator";

/** One conversation setting, as `GET|PUT /conversations/:id/<setting>` names it. */
export type SettingName = "model" | "title" | "cwd" | "reasoningEffort";

/** A read (or a settings write answered like a read). */
export type Read =
  | { read: "conversation.exists"; conversationId: string }
  | { read: "conversation.status"; conversationId: string }
  | { read: "conversation.setting"; conversationId: string; setting: SettingName }
  | {
      read: "conversation.setting.update";
      conversationId: string;
      setting: SettingName;
      patch: SettingsPatch;
    }
  | { read: "conversation.list"; query: ConversationListQuery }
  | { read: "conversation.window"; conversationId: string; query: ConversationWindowQuery }
  | { read: "models.list" }
  | { read: "mcp.servers" }
  | { read: "health" };
export type ReadName = Read["read"];
