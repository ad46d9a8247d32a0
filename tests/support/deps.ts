/**
 * The packages the cross-package tests and the daemon bench use, in one place. The root package.json
 * does not list the workspace packages as dependencies, so `@dispatch/*` does not resolve from
 * `tests/` or `bench/`; these relative imports stand in. Switching to package names is this file only.
 */

export { DispatchHttpClient } from "../../packages/client/src/http";
export { openConversationStore } from "../../packages/conversation-store/src/conversation-store";
export type { DaemonInfo } from "../../packages/discovery/src/discovery";
export { DAEMON_JSON, daemonUrls, readDaemonInfo } from "../../packages/discovery/src/discovery";
export { exampleClientMessages } from "../../packages/protocol/src/examples";
export { parseClientMessage, parseServerMessage } from "../../packages/protocol/src/parse";
export type {
  AgentEvent,
  ClientMessage,
  ServerMessage,
  StoredChunk,
} from "../../packages/protocol/src/types";
export { LOCAL_INTRO } from "../../packages/providers/src/local-model";
export {
  type OpenAIResponse,
  type OpenAIServer,
  type OpenAIStep,
  openaiError,
  openaiText,
  startOpenAIServer,
} from "../../packages/testkit/src/openai-server";
export { Counter, withTimeout } from "../../packages/testkit/src/wait";
