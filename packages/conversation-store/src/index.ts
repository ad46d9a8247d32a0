export * from "./contract";
export {
  type ConversationStoreOptions,
  openConversationStore,
  SqliteConversationStore,
} from "./conversation-store";
export { INTERRUPTED_TOOL_RESULT, type LogRow, reconcile } from "./reconcile";
export { MIGRATIONS, type Migration, migrate, openDatabase, SCHEMA_VERSION } from "./schema";
