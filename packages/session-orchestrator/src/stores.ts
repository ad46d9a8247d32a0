import type {
  ConversationCatalog,
  ConversationLog,
  MessageQueueStore,
  TurnRecords,
  WorkspaceStore,
} from "@dispatch/conversation-store/contract";

/**
 * The store handles the orchestrator uses, each narrow (no permission requests: those are the gate's;
 * no close: the store's extension owns its lifetime). In the daemon they are one object.
 */
export interface OrchestratorStores {
  conversations: ConversationCatalog;
  log: ConversationLog;
  turns: TurnRecords;
  queue: MessageQueueStore;
  workspaces: WorkspaceStore;
}

/** The orchestrator's handles, all served by one object that implements every one (tests, embedding). */
export function storesOf(
  store: ConversationCatalog & ConversationLog & TurnRecords & MessageQueueStore & WorkspaceStore,
): OrchestratorStores {
  return { conversations: store, log: store, turns: store, queue: store, workspaces: store };
}
