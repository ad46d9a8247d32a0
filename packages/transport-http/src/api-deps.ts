import type { ConversationCatalog, ConversationLog } from "@dispatch/conversation-store/contract";
import type { Logger } from "@dispatch/kernel";
import type { HealthResponse, McpServerStatus, ModelInfo } from "@dispatch/protocol/types";
import type { ConversationSettingsService, Orchestrator } from "@dispatch/session-orchestrator/contract";
import type { Shares } from "@dispatch/shares/contract";
import type { PermissionGate } from "@dispatch/tools/contract";
import type { TurnNotices } from "./follow";
import type { StreamLimitsConfig } from "./stream-limits";

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
  /** Share links; absent = every share route answers 503 SHARES_UNAVAILABLE. */
  shares?: Pick<Shares, "create" | "list" | "revoke" | "attach">;
  /** `GET /metrics` in the Prometheus text format; absent = 404 (no metrics extension). */
  metricsText?(): string;
  /** Limits of the SSE and long-poll streams. */
  streams: StreamLimitsConfig;
  /** Turn starts and ends (for wildcard channels over SSE). */
  turns: TurnNotices;
}
