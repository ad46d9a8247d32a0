/**
 * Test helpers (not exported from the package): a real kernel host booting the real extensions with a
 * temp SQLite file and the offline model, and a WebSocket client that waits on frames with timeouts
 * that name what was awaited.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { createHost, type Disposer, type Extension, type Host, silentLogger } from "@dispatch/kernel";
import type { AgentEvent, ResumePoint, ServerMessage } from "@dispatch/protocol/types";
import { localKind } from "@dispatch/provider-local";
import { providersExtension } from "@dispatch/providers";
import {
  type ConversationListener,
  type Orchestrator,
  type ReplayEntry,
  sessionOrchestratorExtension,
} from "@dispatch/session-orchestrator";
import { surfaceRegistryExtension } from "@dispatch/surface-registry";
import { withTimeout } from "@dispatch/testkit";
import { toolsExtensions } from "@dispatch/tools";
import type { WsConfigInput } from "./config";
import { WsTransport } from "./contract";
import { transportWsExtension } from "./extension";

export const TEST_TOKEN = "test-token-0123456789abcdef";
export const FRONTEND_ORIGIN = "http://localhost:24204";
/** Generous: the machine may be loaded; a test that waits this long has failed anyway. */
export const WAIT_MS = 8000;

export interface TestDaemon {
  host: Host;
  ws: WsTransport;
  url: string;
  stop(): Promise<void>;
}

export interface TestDaemonOptions {
  ws?: Partial<WsConfigInput>;
  /** Extra extensions (test surfaces…). */
  extensions?: Extension[];
}

/**
 * Boots the real extensions — surface-registry, conversation-store (temp file), providers (offline
 * `local/echo`), tools with the permission gate, session-orchestrator — and transport-ws on port 0.
 */
export async function startTestDaemon(opts: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dir = await mkdtemp(path.join(tmpdir(), "dispatch-ws-"));
  const host = createHost({
    logger: silentLogger,
    extensions: [
      surfaceRegistryExtension(),
      conversationStoreExtension({ path: path.join(dir, "dispatch.db") }),
      providersExtension({ env: {}, kinds: [localKind({ delayMs: 0 })] }),
      ...toolsExtensions(),
      sessionOrchestratorExtension({ defaultCwd: dir }),
      ...(opts.extensions ?? []),
      transportWsExtension(),
    ],
    config: {
      "transport-ws": { host: "127.0.0.1", port: 0, token: TEST_TOKEN, ...opts.ws },
    },
  });
  const report = await host.start();
  if (report.disabled.length > 0) {
    await host.stop();
    throw new Error(`boot failed: ${JSON.stringify(report.disabled)}`);
  }
  const ws = host.get(WsTransport);
  return {
    host,
    ws,
    url: ws.url,
    async stop() {
      await host.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An orchestrator that only streams the events a test emits. `replay` answers `replayed()`; every other
 * operation throws, like a bug somewhere behind the transport.
 */
export class StubOrchestrator implements Orchestrator {
  /** Per-conversation listeners, as the hubs hold them. */
  private readonly listeners = new Map<string, Set<ConversationListener>>();
  replayed: (conversationId: string, resume?: ResumePoint) => ReplayEntry[] = () => [];
  /** What `runningConversations` answers. */
  running: string[] = [];

  /** Delivers one live event to the conversation's subscribers, as its hub does. */
  emit(conversationId: string, event: AgentEvent, n?: number): void {
    for (const l of [...(this.listeners.get(conversationId) ?? [])]) l(event, n);
  }
  /** How many listeners a conversation has (the transport holds one while anyone watches). */
  subscribers(conversationId: string): number {
    return this.listeners.get(conversationId)?.size ?? 0;
  }
  private fail(): never {
    throw new Error("orchestrator exploded");
  }
  startTurn = () => this.fail();
  enqueue = () => this.fail();
  cancelQueued = () => this.fail();
  queue = () => this.fail();
  stopTurn = () => this.fail();
  closeConversation = () => this.fail();
  openConversation = () => this.fail();
  status = () => this.fail();
  runningTurn = (conversationId: string) => (this.running.includes(conversationId) ? "t-running" : undefined);
  runningConversations = () => [...this.running];
  /**
   * Replays `replayed(conversationId, resume)` first when a resume point is given (as the hub does),
   * then live events only.
   */
  subscribe = (conversationId: string, listener: ConversationListener, resume?: ResumePoint): Disposer => {
    if (resume !== undefined) for (const e of this.replayed(conversationId, resume)) listener(e.event, e.n);
    let set = this.listeners.get(conversationId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(conversationId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(conversationId);
    };
  };
  replay = (conversationId: string, resume?: ResumePoint) => this.replayed(conversationId, resume);
  /** A stand-in keeps no recent events: every place is unknown to it. */
  readonly eventClock = "stub";
  eventsSince = () => undefined;
  whenSettled = () => this.fail();
  compact = () => this.fail();
  shutdown = () => this.fail();
}

type Frame = ServerMessage;
type Waiter = { pred: (f: Frame) => boolean; resolve: (f: Frame) => void };

/** A real WebSocket client that records every frame and lets tests wait for the next matching one. */
export class TestClient {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Frames not yet taken by `next`. */
  private queue: Frame[] = [];
  private waiters: Waiter[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data)) as Frame;
      this.frames.push(frame);
      const i = this.waiters.findIndex((w) => w.pred(frame));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w?.resolve(frame);
      } else this.queue.push(frame);
    });
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })),
    );
  }

  /**
   * Connects with the token (default) or as a browser from `origin` without one. Speaks protocol
   * level 2 (sends `hello` and takes its reply) unless `level: 1` asks for the original protocol.
   */
  static async connect(
    url: string,
    opts: {
      token?: string | null;
      origin?: string;
      protocols?: string[];
      level?: 1 | 2;
      /** Asked for in the level-2 hello. */
      batchMs?: number;
    } = {},
  ): Promise<TestClient> {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? TEST_TOKEN : opts.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    if (opts.origin !== undefined) headers.Origin = opts.origin;
    const socket = new WebSocket(url, { headers, protocols: opts.protocols ?? [] } as unknown as string[]);
    const client = new TestClient(socket);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.addEventListener("open", () => resolve());
        socket.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)));
      }),
      WAIT_MS,
      `the connection to ${url}`,
    );
    if ((opts.level ?? 2) === 2) {
      client.send({
        type: "hello",
        protocol: 2,
        ...(opts.batchMs === undefined ? {} : { batchMs: opts.batchMs }),
      });
      await client.nextOf("hello");
    }
    return client;
  }

  send(msg: object | string): void {
    this.socket.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Takes the first not-yet-taken frame matching `pred` (waiting for it), skipping nothing else. */
  next<T extends Frame = Frame>(pred: (f: Frame) => boolean, what: string, timeoutMs = WAIT_MS): Promise<T> {
    const i = this.queue.findIndex(pred);
    if (i >= 0) {
      const [f] = this.queue.splice(i, 1);
      return Promise.resolve(f as T);
    }
    return withTimeout(
      new Promise<T>((resolve) => this.waiters.push({ pred, resolve: (f) => resolve(f as T) })),
      timeoutMs,
      what,
    );
  }

  /** Waits for the frame of `type` (optionally matching more). */
  nextOf<K extends Frame["type"]>(
    type: K,
    more: (f: Extract<Frame, { type: K }>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<Extract<Frame, { type: K }>> {
    return this.next(
      (f) => f.type === type && more(f as Extract<Frame, { type: K }>),
      `a "${type}" frame`,
      timeoutMs,
    );
  }

  /** Sends `msg` with `id` and waits for the ack or error that answers it. */
  async request(msg: object, id: string): Promise<Frame> {
    this.send({ ...msg, id });
    return this.next((f) => "replyTo" in f && f.replyTo === id, `the answer to "${id}"`);
  }

  /** The chat.delta events of `conversationId` received so far. */
  deltas(conversationId: string): Extract<Frame, { type: "chat.delta" }>[] {
    return this.frames.filter(
      (f): f is Extract<Frame, { type: "chat.delta" }> =>
        f.type === "chat.delta" && f.event.conversationId === conversationId,
    );
  }

  /** Waits until the turn of `conversationId` is sealed (a `turn-sealed` delta arrives). */
  sealed(conversationId: string): Promise<Frame> {
    return this.next(
      (f) =>
        f.type === "chat.delta" &&
        f.event.type === "turn-sealed" &&
        f.event.conversationId === conversationId,
      `turn-sealed of ${conversationId}`,
    );
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * A WebSocket client over raw TCP: sends the upgrade request with exactly the given headers and reports
 * the status; after a 101 it can send masked text frames and stop reading (`pause`) — a real slow consumer.
 */
export class RawClient {
  private chunks: Uint8Array[] = [];
  private onData: (() => void) | undefined;
  private ended = false;

  private constructor(private socket: import("bun").Socket<undefined> | undefined) {}

  /** Performs the handshake; resolves with the HTTP status of the answer. */
  static async upgrade(
    port: number,
    headers: Record<string, string>,
  ): Promise<{ status: number; client: RawClient }> {
    const client = new RawClient(undefined);
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, data) {
          client.chunks.push(new Uint8Array(data));
          client.onData?.();
        },
        close() {
          client.ended = true;
          client.onData?.();
        },
        error() {
          client.ended = true;
          client.onData?.();
        },
      },
    });
    client.socket = socket;
    const lines = [
      "GET / HTTP/1.1",
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    const head = await client.waitFor((bytes) => {
      const i = indexOfHeadEnd(bytes);
      return i < 0 ? undefined : i;
    }, "the HTTP answer to the upgrade");
    const all = client.bytes();
    const status = Number(
      /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(all.subarray(0, head)))?.[1] ?? 0,
    );
    client.chunks = [all.subarray(head + 4)];
    return { status, client };
  }

  private bytes(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [out];
    return out;
  }

  /** Waits until `check(received bytes)` returns a value. */
  private waitFor<T>(
    check: (bytes: Uint8Array) => T | undefined,
    what: string,
    timeoutMs = WAIT_MS,
  ): Promise<T> {
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        const test = () => {
          const v = check(this.bytes());
          if (v !== undefined) {
            this.onData = undefined;
            resolve(v);
          } else if (this.ended) reject(new Error(`connection ended before ${what}`));
        };
        this.onData = test;
        test();
      }),
      timeoutMs,
      what,
    );
  }

  /** Sends one masked text frame (client frames must be masked). */
  sendText(text: string): void {
    const payload = new TextEncoder().encode(text);
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const len = payload.length;
    const head = len < 126 ? [0x81, 0x80 | len] : [0x81, 0x80 | 126, len >> 8, len & 0xff];
    const frame = new Uint8Array(head.length + 4 + len);
    frame.set(head, 0);
    frame.set(mask, head.length);
    for (let i = 0; i < len; i++) frame[head.length + 4 + i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    this.socket?.write(frame);
  }

  /** Stops reading from the socket: the server's output piles up in the kernel, then in Bun. */
  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  /** Resumes reading and waits for the server's close frame; returns its code. */
  async closeCode(): Promise<number> {
    this.resume();
    return this.waitFor((bytes) => closeCodeIn(bytes), "the close frame");
  }

  /** Waits for a frame with `opcode` (0x9 = ping) from the server; never answers it. */
  async frameOf(opcode: number, what: string, timeoutMs = WAIT_MS): Promise<void> {
    await this.waitFor(
      (bytes) => (serverFrames(bytes).some((f) => f.opcode === opcode) ? true : undefined),
      what,
      timeoutMs,
    );
  }

  /** Waits until the server has closed the TCP connection. */
  async whenEnded(timeoutMs = WAIT_MS): Promise<void> {
    await this.waitFor(() => (this.ended ? true : undefined), "the end of the connection", timeoutMs);
  }

  end(): void {
    this.socket?.end();
  }
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** The complete (unmasked) server frames at the start of `b`. */
function serverFrames(b: Uint8Array): { opcode: number; payload: Uint8Array }[] {
  const frames: { opcode: number; payload: Uint8Array }[] = [];
  let at = 0;
  while (at + 2 <= b.length) {
    const opcode = (b[at] ?? 0) & 0x0f;
    let len = (b[at + 1] ?? 0) & 0x7f;
    let head = 2;
    if (len === 126) {
      if (at + 4 > b.length) break;
      len = ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0);
      head = 4;
    } else if (len === 127) {
      if (at + 10 > b.length) break;
      len = 0;
      for (let i = 2; i < 10; i++) len = len * 256 + (b[at + i] ?? 0);
      head = 10;
    }
    if (at + head + len > b.length) break;
    frames.push({ opcode, payload: b.subarray(at + head, at + head + len) });
    at += head + len;
  }
  return frames;
}

/** The code of the first complete close frame in `b` (1005 when it carries none). */
function closeCodeIn(b: Uint8Array): number | undefined {
  const close = serverFrames(b).find((f) => f.opcode === 0x8);
  if (close === undefined) return undefined;
  const p = close.payload;
  return p.length >= 2 ? ((p[0] ?? 0) << 8) | (p[1] ?? 0) : 1005;
}
