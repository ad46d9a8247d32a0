import type {
  AgentEvent,
  ChatRequestBody,
  CloseResponse,
  CompactRequest,
  CompactResponse,
  ConversationListQuery,
  ConversationListResponse,
  ConversationStatusResponse,
  ConversationWindowQuery,
  ConversationWindowResponse,
  CwdSettingResponse,
  HealthResponse,
  McpServersResponse,
  ModelSettingResponse,
  ModelsResponse,
  OpenResponse,
  PermissionAnswerResponse,
  PermissionDecision,
  QueueCancelResponse,
  QueueRequest,
  QueueResponse,
  ReasoningEffort,
  ReasoningEffortSettingResponse,
  ShareCreateBody,
  ShareCreateResponse,
  ShareListResponse,
  ShareRevokeResponse,
  StopResponse,
  TitleSettingResponse,
} from "@dispatch/protocol/types";
import { ndjsonLines } from "./ndjson";

/** A non-2xx answer of the HTTP API: `status` and the daemon's `{ error, code? }`. */
export class DispatchApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "DispatchApiError";
  }
}

export interface HttpClientOptions {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
  /**
   * Called before every request: where the daemon is now (a restarted daemon may have a new port and
   * token). Undefined keeps the last known endpoint.
   */
  locate?: () => { baseUrl: string; token?: string } | undefined;
}

export interface ChatStream {
  conversationId: string;
  /** AgentEvents as the daemon streams them; ends after `turn-sealed`. */
  events: AsyncIterable<AgentEvent>;
}

const enc = encodeURIComponent;

/** Typed client for the HTTP API (PROTOCOL.md §6). */
export class DispatchHttpClient {
  private base: string;
  private token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly locate: HttpClientOptions["locate"];

  constructor(opts: HttpClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? fetch;
    this.locate = opts.locate;
  }

  /** The daemon's base URL as of the last request. */
  get baseUrl(): string {
    return this.base;
  }

  health(): Promise<HealthResponse> {
    return this.json("GET", "/health");
  }
  models(): Promise<ModelsResponse> {
    return this.json("GET", "/models");
  }
  /** (ext) Every configured MCP server with its state, tools and last error. */
  mcpServers(): Promise<McpServersResponse> {
    return this.json("GET", "/mcp/servers");
  }

  listConversations(query: ConversationListQuery = {}): Promise<ConversationListResponse> {
    const params = new URLSearchParams();
    if (query.status?.length) params.set("status", query.status.join(","));
    if (query.workspaceId) params.set("workspaceId", query.workspaceId);
    if (query.q) params.set("q", query.q);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.cursor) params.set("cursor", query.cursor);
    const qs = params.toString();
    return this.json("GET", `/conversations${qs ? `?${qs}` : ""}`);
  }
  readConversation(id: string, query: ConversationWindowQuery = {}): Promise<ConversationWindowResponse> {
    const params = new URLSearchParams();
    if (query.sinceSeq !== undefined) params.set("sinceSeq", String(query.sinceSeq));
    if (query.beforeSeq !== undefined) params.set("beforeSeq", String(query.beforeSeq));
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    const qs = params.toString();
    return this.json("GET", `/conversations/${enc(id)}${qs ? `?${qs}` : ""}`);
  }
  status(id: string): Promise<ConversationStatusResponse> {
    return this.json("GET", `/conversations/${enc(id)}/status`);
  }
  open(id: string): Promise<OpenResponse> {
    return this.json("POST", `/conversations/${enc(id)}/open`);
  }
  stop(id: string): Promise<StopResponse> {
    return this.json("POST", `/conversations/${enc(id)}/stop`);
  }
  close(id: string): Promise<CloseResponse> {
    return this.json("POST", `/conversations/${enc(id)}/close`);
  }
  queue(id: string, body: QueueRequest): Promise<QueueResponse> {
    return this.json("POST", `/conversations/${enc(id)}/queue`, body);
  }
  cancelQueued(id: string, messageId: string): Promise<QueueCancelResponse> {
    return this.json("DELETE", `/conversations/${enc(id)}/queue/${enc(messageId)}`);
  }
  compact(id: string, body: CompactRequest = {}): Promise<CompactResponse> {
    return this.json("POST", `/conversations/${enc(id)}/compact`, body);
  }
  /** (ext) A read-only share link; the answer is the only time its secret is shown. */
  createShare(id: string, body: ShareCreateBody = {}): Promise<ShareCreateResponse> {
    return this.json("POST", `/conversations/${enc(id)}/shares`, body);
  }
  /** (ext) The conversation's live shares with their viewer counts. */
  listShares(id: string): Promise<ShareListResponse> {
    return this.json("GET", `/conversations/${enc(id)}/shares`);
  }
  /** (ext) Revokes a share: its viewers are closed at once. */
  revokeShare(shareId: string): Promise<ShareRevokeResponse> {
    return this.json("DELETE", `/shares/${enc(shareId)}`);
  }
  answerPermission(
    id: string,
    requestId: string,
    decision: PermissionDecision,
    /** A deny's reason, shown in the tool's result (default "denied by the user"). */
    reason?: string,
  ): Promise<PermissionAnswerResponse> {
    return this.json("POST", `/conversations/${enc(id)}/permissions/${enc(requestId)}`, {
      decision,
      ...(reason ? { reason } : {}),
    });
  }

  getModel(id: string): Promise<ModelSettingResponse> {
    return this.json("GET", `/conversations/${enc(id)}/model`);
  }
  setModel(id: string, model: string): Promise<ModelSettingResponse> {
    return this.json("PUT", `/conversations/${enc(id)}/model`, { model });
  }
  getTitle(id: string): Promise<TitleSettingResponse> {
    return this.json("GET", `/conversations/${enc(id)}/title`);
  }
  setTitle(id: string, title: string): Promise<TitleSettingResponse> {
    return this.json("PUT", `/conversations/${enc(id)}/title`, { title });
  }
  getCwd(id: string): Promise<CwdSettingResponse> {
    return this.json("GET", `/conversations/${enc(id)}/cwd`);
  }
  setCwd(id: string, cwd: string): Promise<CwdSettingResponse> {
    return this.json("PUT", `/conversations/${enc(id)}/cwd`, { cwd });
  }
  getReasoningEffort(id: string): Promise<ReasoningEffortSettingResponse> {
    return this.json("GET", `/conversations/${enc(id)}/reasoning-effort`);
  }
  setReasoningEffort(id: string, reasoningEffort: ReasoningEffort): Promise<ReasoningEffortSettingResponse> {
    return this.json("PUT", `/conversations/${enc(id)}/reasoning-effort`, { reasoningEffort });
  }

  /** `POST /chat`: starts a turn and streams its events (NDJSON) until `turn-sealed`. */
  async chat(body: ChatRequestBody, opts: { signal?: AbortSignal } = {}): Promise<ChatStream> {
    // Level 2: the stream carries user-message, permission-request, step-complete… (PROTOCOL.md, top).
    const res = await this.request("POST", "/chat", body, opts.signal, { "Dispatch-Protocol": "2" });
    const conversationId = res.headers.get("x-conversation-id") ?? body.conversationId ?? "";
    if (!res.body) throw new DispatchApiError(res.status, "POST /chat answered without a body");
    const stream = res.body;
    return {
      conversationId,
      events: (async function* () {
        for await (const line of ndjsonLines(stream)) yield line as AgentEvent;
      })(),
    };
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (await res.json()) as T;
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const where = this.locate?.();
    if (where) {
      this.base = where.baseUrl.replace(/\/+$/, "");
      this.token = where.token;
    }
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal) init.signal = signal;
    const res = await this.fetchImpl(`${this.base}${path}`, init);
    if (res.ok) return res;
    let message = `${method} ${path} failed with HTTP ${res.status}`;
    let code: string | undefined;
    try {
      const err = (await res.json()) as { error?: unknown; code?: unknown };
      if (typeof err.error === "string") message = err.error;
      if (typeof err.code === "string") code = err.code;
    } catch {
      // not a JSON error body: keep the generic message
    }
    throw new DispatchApiError(res.status, message, code);
  }
}
