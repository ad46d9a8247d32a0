/**
 * The packages the cross-package tests and the daemon bench use, in one place (the root package.json
 * lists the workspace packages as dev dependencies).
 */
export { DispatchHttpClient } from "@dispatch/client";
export { openConversationStore } from "@dispatch/conversation-store";
export { DAEMON_JSON, type DaemonInfo, daemonUrls, readDaemonInfo } from "@dispatch/discovery";
export { type SseEvent, SseParser } from "@dispatch/event-streams";
export { parseClientMessage, parseServerMessage } from "@dispatch/protocol";
export { exampleClientMessages } from "@dispatch/protocol/examples";
export type { AgentEvent, ServerMessage, StoredChunk } from "@dispatch/protocol/types";
export { LOCAL_INTRO } from "@dispatch/provider-local";
export {
  haveRedis,
  type OpenAIResponse,
  type OpenAIServer,
  openaiError,
  openaiText,
  startOpenAIServer,
  TEST_REDIS_ENV,
  testRedis,
  uniquePrefix,
} from "@dispatch/testkit";
