/**
 * Read operations (settings, status, lists, windows, models, MCP servers, health): the command a read is, the
 * query effect it becomes, and — pure — the reply the core makes of the service's raw answer. The
 * interpreter only fetches; every mapping a client sees (404 for an unknown conversation, the empty
 * window of a fresh id, the per-setting view) is decided here, where the core's tests reach it.
 */
import type {
  ConversationListQuery,
  ConversationListResponse,
  ConversationStatusResponse,
  ConversationWindowQuery,
  ConversationWindowResponse,
  HealthResponse,
  McpServerStatus,
  ModelInfo,
  ModelsResponse,
} from "@dispatch/protocol/types";
import type { ConversationSettings, SettingsPatch } from "@dispatch/session-orchestrator";
import type { OpError, OpResult, Reply } from "./contract";
import type { Read, SettingName } from "./read-contract";

export type { Read, ReadName, SettingName } from "./read-contract";

/** What the interpreter fetched for a read (the handle's answer, unmapped). */
export type ReadResult =
  | { read: "conversation.exists" | "conversation.status"; status: ConversationStatusResponse | undefined }
  | { read: "conversation.setting"; settings: ConversationSettings | undefined }
  | { read: "conversation.setting.update"; updated: OpResult<ConversationSettings> }
  | { read: "conversation.list"; page: OpResult<ConversationListResponse> }
  | { read: "conversation.window"; window: OpResult<ConversationWindowResponse> }
  | { read: "models.list"; models: { name: string; info: ModelInfo }[]; defaultModel: string | undefined }
  | { read: "mcp.servers"; servers: McpServerStatus[] }
  | { read: "health"; health: HealthResponse };

/** The reads' service handles (the interpreter's side). */
export interface ReadHandles {
  status(conversationId: string): ConversationStatusResponse | undefined;
  getSettings(conversationId: string): ConversationSettings | undefined;
  updateSettings(conversationId: string, patch: SettingsPatch): OpResult<ConversationSettings>;
  listConversations(query: ConversationListQuery): OpResult<ConversationListResponse>;
  readWindow(conversationId: string, query: ConversationWindowQuery): OpResult<ConversationWindowResponse>;
  models(): { name: string; info: ModelInfo }[];
  defaultModel(): string | undefined;
  mcpServers(): McpServerStatus[];
  /** The daemon's liveness answer (version, uptime, active turns, store). */
  health(): HealthResponse;
}

/** Pure: the coded refusal for a conversation that does not exist (HTTP answers it 404). */
export function unknownConversation(conversationId: string): OpError {
  return { code: "HTTP_UNKNOWN_CONVERSATION", message: `unknown conversation "${conversationId}"` };
}

/** Pure: the one field of `settings` a setting route shows (an unset optional field is absent). */
export function settingView(setting: SettingName, s: ConversationSettings): Record<string, unknown> {
  const base = { conversationId: s.conversationId };
  if (setting === "title") return { ...base, title: s.title };
  const value = s[setting];
  return value === undefined ? base : { ...base, [setting]: value };
}

const ok = (value: unknown): { ok: true; value: unknown } => ({ ok: true, value });
const no = (error: OpError): { ok: false; error: OpError } => ({ ok: false, error });

/** Pure: what a read's raw answer means to the client — its value, or a coded failure. */
export function readOutcome(read: Read, result: ReadResult): OpResult {
  switch (result.read) {
    case "conversation.exists":
    case "conversation.status": {
      const id = (read as { conversationId: string }).conversationId;
      if (result.status === undefined) return no(unknownConversation(id));
      return ok(result.read === "conversation.exists" ? { conversationId: id } : result.status);
    }
    case "conversation.setting": {
      const r = read as Extract<Read, { read: "conversation.setting" }>;
      if (result.settings === undefined) return no(unknownConversation(r.conversationId));
      return ok(settingView(r.setting, { ...result.settings, conversationId: r.conversationId }));
    }
    case "conversation.setting.update": {
      const r = read as Extract<Read, { read: "conversation.setting.update" }>;
      if (!result.updated.ok) return result.updated;
      return ok(settingView(r.setting, { ...result.updated.value, conversationId: r.conversationId }));
    }
    case "conversation.list": {
      if (!result.page.ok) return result.page;
      const res: ConversationListResponse = { conversations: result.page.value.conversations };
      if (result.page.value.nextCursor !== undefined) res.nextCursor = result.page.value.nextCursor;
      return ok(res);
    }
    case "conversation.window": {
      const q = (read as Extract<Read, { read: "conversation.window" }>).query;
      const w = result.window;
      // A well-formed id with no chunks — one a client has just minted, or one that never existed — is
      // an empty conversation (compat: the frontend syncs right after its first chat.send).
      if (!w.ok && w.error.code === "STORE_UNKNOWN_CONVERSATION")
        return ok({ chunks: [], latestSeq: q.sinceSeq ?? 0 } satisfies ConversationWindowResponse);
      if (!w.ok) return w;
      const res: ConversationWindowResponse = { chunks: w.value.chunks, latestSeq: w.value.latestSeq };
      if (w.value.more) res.more = w.value.more;
      return ok(res);
    }
    case "models.list": {
      const res: ModelsResponse = { models: result.models.map((m) => m.name) };
      if (result.models.length > 0)
        res.modelInfo = Object.fromEntries(result.models.map((m) => [m.name, m.info]));
      if (result.defaultModel) res.defaultModel = result.defaultModel;
      return ok(res);
    }
    case "mcp.servers":
      return ok({ servers: result.servers });
    case "health":
      return ok(result.health);
  }
}

/** Runs one read against its handles (no mapping: see `readOutcome`). */
export function fetchRead(read: Read, h: ReadHandles): ReadResult {
  switch (read.read) {
    case "conversation.exists":
    case "conversation.status":
      return { read: read.read, status: h.status(read.conversationId) };
    case "conversation.setting":
      return { read: read.read, settings: h.getSettings(read.conversationId) };
    case "conversation.setting.update":
      return { read: read.read, updated: h.updateSettings(read.conversationId, read.patch) };
    case "conversation.list":
      return { read: read.read, page: h.listConversations(read.query) };
    case "conversation.window":
      return { read: read.read, window: h.readWindow(read.conversationId, read.query) };
    case "models.list":
      return { read: read.read, models: h.models(), defaultModel: h.defaultModel() };
    case "mcp.servers":
      return { read: read.read, servers: h.mcpServers() };
    case "health":
      return { read: read.read, health: h.health() };
  }
}

/** Pure: the reply a read's outcome is. */
export function readReply(read: Read, result: ReadResult, replyTo: string | undefined): Reply {
  const r = readOutcome(read, result);
  const at = replyTo === undefined ? {} : { replyTo };
  if (r.ok) return { kind: "done", op: "read", value: r.value, ...at };
  return { kind: "failed", family: "chat", error: r.error, ...at };
}
