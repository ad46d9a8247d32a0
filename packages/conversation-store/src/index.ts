export * from "./contract";
export {
  type ConversationStoreOptions,
  openConversationStore,
  SqliteConversationStore,
} from "./conversation-store";
export {
  CONVERSATION_STORE_EXTENSION_ID,
  type ConversationStoreConfig,
  ConversationStoreConfigSchema,
  type ConversationStoreExtensionOptions,
  conversationStoreExtension,
} from "./extension";
export { INTERRUPTED_TOOL_RESULT, type LogRow, reconcile, SYNTHETIC_SUFFIX } from "./reconcile";
export { MIGRATIONS, type Migration, migrate, openDatabase, SCHEMA_VERSION } from "./schema";
