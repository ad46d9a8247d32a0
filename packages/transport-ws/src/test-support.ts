/**
 * Test helpers (not exported from the package): a real kernel host booting the real extensions with a
 * temp SQLite file and the offline model, and a WebSocket client that waits on frames with timeouts
 * that name what was awaited.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConversationStore, openConversationStore } from "@dispatch/conversation-store";
import { createHost, type Extension, type Host, silentLogger } from "@dispatch/kernel";
import type { ServerMessage } from "@dispatch/protocol/types";
import { providersExtension } from "@dispatch/providers";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { surfaceRegistryExtension } from "@dispatch/surface-registry";
import { withTimeout } from "@dispatch/testkit";
import type { WsConfigInput } from "./config";
import { WsTransport } from "./contract";
import { transportWsExtension } from "./extension";

export const TEST_TOKEN = "test-token-0123456789abcdef";
export const FRONTEND_ORIGIN = "http://localhost:24204";
/** Generous: the machine may be loaded; a test that waits this long has failed anyway. */
export const WAIT_MS = 8000;

/** The conversation store on a temp file (stands in until the store's own extension is used here). */
function storeExtension(file: string): Extension {
  return {
    manifest: { id: "conversation-store", version: "0.0.0" },
    activate(ctx) {
      const store = openConversationStore({ path: file });
      ctx.provide(ConversationStore, store);
      ctx.scope.add(() => store.close());
    },
  };
}

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

/** Boots surface-registry, conversation-store, providers (offline), orchestrator and transport-ws on port 0. */
export async function startTestDaemon(opts: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dir = await mkdtemp(path.join(tmpdir(), "dispatch-ws-"));
  const host = createHost({
    logger: silentLogger,
    extensions: [
      surfaceRegistryExtension(),
      storeExtension(path.join(dir, "dispatch.db")),
      providersExtension({ env: {}, local: { delayMs: 0 } }),
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

  /** Connects with the token (default) or as a browser from `origin` without one. */
  static async connect(
    url: string,
    opts: { token?: string | null; origin?: string; protocols?: string[] } = {},
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
