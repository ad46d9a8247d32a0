import type {
  AgentEvent,
  ClientMessage,
  ResumePoint,
  ServerMessage,
  ServerMessageOf,
} from "@dispatch/protocol/types";
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from "./backoff";
import { advanceCursor, type ChatCursor } from "./cursor";

/** Named in this client's `hello`. */
const CLIENT_INFO = { name: "@dispatch/client", version: "0.1.0" };

/** An `error` / `chat.error` answer to a request that carried an id. */
export class DispatchSocketError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "DispatchSocketError";
  }
}

export interface SocketEndpoint {
  url: string;
  token?: string;
}

export interface SocketOptions {
  /** Where to connect; called before every (re)connect so a restarted daemon's new port/token is picked up. */
  endpoint: SocketEndpoint | (() => SocketEndpoint | Promise<SocketEndpoint>);
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxReconnectAttempts?: number;
  /** How long `request()` waits for its ack (default 15 s). */
  requestTimeoutMs?: number;
}

export type SocketState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export type ChatListener = (event: AgentEvent, n: number | undefined) => void;

/** Most conversations a reconnect names in one channel's `resume` (the protocol's cap). */
const MAX_RESUME = 1000;

type Distributive<T> = T extends unknown ? Omit<T, "id"> : never;
export type ClientRequest = Distributive<ClientMessage>;

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A WebSocket client that survives daemon-side disconnects: it reconnects with exponential backoff and
 * jitter, re-subscribes every surface and conversation it watched, and resumes running turns from the
 * last event index it delivered, dropping the overlap — so a consumer sees every event exactly once.
 */
export class DispatchSocket {
  private ws: WebSocket | undefined;
  private stateValue: SocketState = "idle";
  private attempt = 0;
  private nextId = 1;
  private closedByUser = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly messageListeners = new Set<(msg: ServerMessage) => void>();
  private readonly stateListeners = new Set<(state: SocketState) => void>();
  private readonly chatListeners = new Map<string, Set<ChatListener>>();
  /** Conversations this connection watches (explicitly or by sending) and how far each got. */
  private readonly watched = new Map<string, ChatCursor | undefined>();
  private readonly surfaces = new Map<string, { surfaceId: string; conversationId?: string }>();
  /** Wildcard channels (`conversation:*`, `workspace:<id>:*`) and their listeners; survive reconnects. */
  private readonly channels = new Map<string, Set<ChatListener>>();
  /** How far each conversation received through a channel got, while its turn runs (for resume). */
  private readonly seen = new Map<string, ChatCursor>();
  private readonly opts: Required<Omit<SocketOptions, "endpoint">> & Pick<SocketOptions, "endpoint">;

  constructor(options: SocketOptions) {
    this.opts = {
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      maxReconnectAttempts: Number.POSITIVE_INFINITY,
      requestTimeoutMs: 15_000,
      ...options,
    };
  }

  get state(): SocketState {
    return this.stateValue;
  }

  /** Resolves once the first connection is open (the `catalog` frame follows immediately). */
  connect(): Promise<void> {
    this.closedByUser = false;
    return this.open();
  }

  onMessage(listener: (msg: ServerMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onState(listener: (state: SocketState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Watches a conversation: replays a running turn, then streams live; survives reconnects. */
  async watch(conversationId: string, listener?: ChatListener): Promise<() => void> {
    if (listener) this.addChatListener(conversationId, listener);
    const known = this.watched.has(conversationId);
    if (!known) this.watched.set(conversationId, undefined);
    if (!known) await this.request({ type: "chat.subscribe", conversationId });
    return () => {
      if (listener) this.chatListeners.get(conversationId)?.delete(listener);
    };
  }

  /** Stops watching; never affects the turn. */
  async unwatch(conversationId: string): Promise<void> {
    this.watched.delete(conversationId);
    this.chatListeners.delete(conversationId);
    await this.request({ type: "chat.unsubscribe", conversationId });
  }

  /**
   * Watches every conversation (`conversation:*`): each running turn replayed, then every event of
   * every conversation live, new ones included. Across reconnects each conversation resumes from the
   * last event delivered, so the listener sees every event once. Resolves once subscribed.
   */
  watchAll(listener: ChatListener): Promise<() => void> {
    return this.watchChannel("conversation:*", listener);
  }

  /** Like `watchAll`, for the conversations of one workspace (`workspace:<id>:*`). */
  watchWorkspace(workspaceId: string, listener: ChatListener): Promise<() => void> {
    return this.watchChannel(`workspace:${workspaceId}:*`, listener);
  }

  /**
   * Watches a wildcard channel. Its listener gets the events the socket receives for conversations it
   * does not also watch directly (those go to their `watch` listeners); `conversation:*` gets them all.
   */
  async watchChannel(channel: string, listener: ChatListener): Promise<() => void> {
    let set = this.channels.get(channel);
    const fresh = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(listener);
    if (fresh) {
      try {
        await this.request({ type: "channel.subscribe", channel });
      } catch (err) {
        this.channels.delete(channel);
        throw err;
      }
    }
    return () => {
      const listeners = this.channels.get(channel);
      listeners?.delete(listener);
      if (listeners?.size !== 0) return;
      this.channels.delete(channel);
      void this.request({ type: "channel.unsubscribe", channel }).catch(() => {});
    };
  }

  /** Adds a listener for a conversation the server auto-subscribed us to (chat.send / chat.queue). */
  addChatListener(conversationId: string, listener: ChatListener): () => void {
    let set = this.chatListeners.get(conversationId);
    if (!set) {
      set = new Set();
      this.chatListeners.set(conversationId, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  async subscribeSurface(surfaceId: string, conversationId?: string): Promise<void> {
    const key = `${surfaceId}\u0000${conversationId ?? ""}`;
    this.surfaces.set(key, conversationId === undefined ? { surfaceId } : { surfaceId, conversationId });
    await this.request(
      conversationId === undefined
        ? { type: "subscribe", surfaceId }
        : { type: "subscribe", surfaceId, conversationId },
    );
  }

  /** Sends a message with an id and resolves on its `ack`; rejects with the server's error. */
  request(msg: ClientRequest): Promise<void> {
    const id = `c${this.nextId++}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new DispatchSocketError(
            `no answer to ${msg.type} within ${this.opts.requestTimeoutMs} ms`,
            "CLIENT_TIMEOUT",
          ),
        );
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (msg.type === "chat.send" && msg.conversationId && !this.watched.has(msg.conversationId)) {
        this.watched.set(msg.conversationId, undefined);
      }
      if (!this.sendRaw({ ...msg, id } as ClientMessage)) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new DispatchSocketError(`not connected (state ${this.stateValue})`, "CLIENT_NOT_CONNECTED"));
      }
    });
  }

  /** Fire-and-forget send; false when not connected. */
  send(msg: ClientMessage): boolean {
    return this.sendRaw(msg);
  }

  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.failPending(new DispatchSocketError("client closed", "CLIENT_CLOSED"));
    this.setState("closed");
    this.ws?.close(1000, "client closing");
  }

  private sendRaw(msg: ClientMessage): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  private async open(): Promise<void> {
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const endpoint =
      typeof this.opts.endpoint === "function" ? await this.opts.endpoint() : this.opts.endpoint;
    // close() while the endpoint was being looked up: no new connection.
    if (this.closedByUser) throw new DispatchSocketError("client closed", "CLIENT_CLOSED");
    const protocols = endpoint.token ? [`dispatch.token.${endpoint.token}`] : [];
    const ws = new WebSocket(endpoint.url, protocols);
    this.ws = ws;
    return new Promise<void>((resolve, reject) => {
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.attempt = 0;
        // First, before anything else: this client speaks level 2 (ext events, acks, presence).
        ws.send(JSON.stringify({ type: "hello", protocol: 2, client: CLIENT_INFO } satisfies ClientMessage));
        this.setState("open");
        this.resubscribe();
        resolve();
      };
      ws.onmessage = (ev) => this.handleFrame(ev.data);
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.failPending(
          new DispatchSocketError(`connection closed (${ev.code} ${ev.reason})`, "CLIENT_DISCONNECTED"),
        );
        if (this.closedByUser) return;
        if (!opened && this.attempt === 0) {
          // The very first connect failed: report it instead of retrying silently.
          this.setState("closed");
          reject(
            new DispatchSocketError(
              `cannot connect to ${endpoint.url} (${ev.code || "refused"})`,
              "CLIENT_CONNECT_FAILED",
            ),
          );
          return;
        }
        this.scheduleReconnect();
      };
    });
  }

  private scheduleReconnect(): void {
    if (this.attempt >= this.opts.maxReconnectAttempts) {
      this.setState("closed");
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random());
    this.attempt++;
    this.setState("reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.open().catch(() => {
        if (!this.closedByUser) this.scheduleReconnect();
      });
    }, delay);
  }

  /** After a (re)connect: watch every conversation again, resuming from the cursor, and every surface. */
  private resubscribe(): void {
    for (const [conversationId, cursor] of this.watched) {
      const resume: ResumePoint | undefined = cursor ? { turnId: cursor.turnId, n: cursor.n } : undefined;
      this.sendRaw(
        resume
          ? { type: "chat.subscribe", conversationId, resume }
          : { type: "chat.subscribe", conversationId },
      );
    }
    for (const s of this.surfaces.values()) this.sendRaw({ type: "subscribe", ...s });
    if (this.channels.size === 0) return;
    const resume: Record<string, ResumePoint> = {};
    for (const [conversationId, c] of [...this.seen].slice(-MAX_RESUME))
      resume[conversationId] = { turnId: c.turnId, n: c.n };
    for (const channel of this.channels.keys())
      this.sendRaw(
        Object.keys(resume).length === 0
          ? { type: "channel.subscribe", channel }
          : { type: "channel.subscribe", channel, resume },
      );
  }

  private handleFrame(data: unknown): void {
    if (typeof data !== "string") return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (msg.type === "chat.delta" && !this.acceptDelta(msg)) return;
    if (msg.type === "chat.batch") {
      // A batch (hello.batchMs) is its events in order, each as a chat.delta.
      for (const e of msg.events) this.handleDelta({ type: "chat.delta", ...e });
      return;
    }
    if (msg.type === "ack" || ((msg.type === "error" || msg.type === "chat.error") && msg.replyTo)) {
      this.settle(msg);
    }
    for (const listener of this.messageListeners) listener(msg);
  }

  private handleDelta(msg: ServerMessageOf<"chat.delta">): void {
    if (!this.acceptDelta(msg)) return;
    for (const listener of this.messageListeners) listener(msg);
  }

  private acceptDelta(msg: ServerMessageOf<"chat.delta">): boolean {
    const conversationId = msg.event.conversationId;
    const direct = this.watched.has(conversationId);
    const before = direct ? this.watched.get(conversationId) : this.seen.get(conversationId);
    const { deliver, cursor } = advanceCursor(before, msg.event, msg.n);
    if (!deliver) return false;
    if (direct) this.watched.set(conversationId, cursor);
    else if (cursor !== undefined && msg.event.type !== "turn-sealed") this.seen.set(conversationId, cursor);
    // A sealed turn is never replayed again: its cursor is no longer needed for resume.
    else this.seen.delete(conversationId);
    for (const listener of this.chatListeners.get(conversationId) ?? []) listener(msg.event, msg.n);
    for (const [channel, listeners] of this.channels) {
      if (direct && channel !== "conversation:*") continue;
      for (const listener of listeners) listener(msg.event, msg.n);
    }
    return true;
  }

  private settle(
    msg: ServerMessageOf<"ack"> | ServerMessageOf<"error"> | ServerMessageOf<"chat.error">,
  ): void {
    const replyTo = msg.replyTo;
    if (!replyTo) return;
    const p = this.pending.get(replyTo);
    if (!p) return;
    this.pending.delete(replyTo);
    clearTimeout(p.timer);
    if (msg.type === "ack") p.resolve();
    else p.reject(new DispatchSocketError(msg.message, msg.code));
  }

  private failPending(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  private setState(state: SocketState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
