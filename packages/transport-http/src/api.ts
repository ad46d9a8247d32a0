/**
 * The route table of PROTOCOL.md §6 (Bun `routes` shape, handlers not yet guarded — see server.ts).
 * Every client operation, reads included, is a command run through the operations core
 * (`operationRunner`); the route modules only parse requests and render values.
 */
import type { ConversationCatalog, ConversationLog } from "@dispatch/conversation-store/contract";
import type { Logger } from "@dispatch/kernel";
import type {
  HealthResponse,
  McpServerStatus,
  ModelInfo,
  PermissionDecision,
} from "@dispatch/protocol/types";
import { answerPermission } from "@dispatch/session-orchestrator";
import type { ConversationSettingsService, Orchestrator } from "@dispatch/session-orchestrator/contract";
import type { PermissionGate } from "@dispatch/tools/contract";
import { chatRoute } from "./chat-route";
import { conversationRoutes } from "./conversation-routes";
import { operationRunner } from "./operations";
import type { RouteTable } from "./request";
import { settingsRoutes } from "./settings-routes";
import { systemRoutes } from "./system-routes";

export type { RouteHandler, RouteTable } from "./request";

/** What the API reads and drives. */
export interface ApiDeps {
  orchestrator: Orchestrator;
  settings: ConversationSettingsService;
  /** Answers permission requests; absent: every answer is ORCH_UNKNOWN_PERMISSION_REQUEST. */
  gate?: Pick<PermissionGate, "resolve">;
  conversations: Pick<ConversationCatalog, "listConversations">;
  log: Pick<ConversationLog, "readWindow">;
  /** `GET /mcp/servers`: every configured MCP server ([] when the mcp extension is not running). */
  mcpServers(): McpServerStatus[];
  /** Model names and info for `GET /models`; absent when the providers extension is not running. */
  models(): { name: string; info: ModelInfo }[];
  /** The model a turn without one uses (`GET /models` → `defaultModel`); absent without providers. */
  defaultModel?(): string | undefined;
  version: string;
  maxBodyBytes: number;
  logger: Logger;
  /** `GET /openapi.json` for a base URL (its `servers` entry), `GET /protocol.json`. */
  openApiJson(baseUrl: string): string;
  protocolJson(): string;
  /** `GET /health`'s live fields. */
  health(): Pick<HealthResponse, "uptimeSec" | "activeTurns" | "store">;
  /** `GET /metrics` in the Prometheus text format; absent = 404 (no metrics extension). */
  metricsText?(): string;
}

export function apiRoutes(deps: ApiDeps): RouteTable {
  const { orchestrator, conversations, log, settings } = deps;
  const op = operationRunner({
    orchestrator,
    permissions: {
      answer: (cid: string, requestId: string, decision: PermissionDecision, reason?: string) =>
        answerPermission(deps.gate, cid, requestId, decision, reason),
    },
    reads: {
      status: (id) => orchestrator.status(id),
      getSettings: (id) => settings.getSettings(id),
      updateSettings: (id, patch) => settings.updateSettings(id, patch),
      listConversations: (q) => conversations.listConversations(q),
      readWindow: (id, q) => log.readWindow(id, q),
      models: () => deps.models(),
      defaultModel: () => deps.defaultModel?.(),
      mcpServers: () => deps.mcpServers(),
      health: () => ({ ok: true, version: deps.version, ...deps.health() }),
    },
  });
  return {
    ...systemRoutes(deps, op),
    ...chatRoute(deps, op),
    ...conversationRoutes(deps, op),
    ...settingsRoutes(deps, op),
  };
}
