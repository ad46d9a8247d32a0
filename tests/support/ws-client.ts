/**
 * A raw WebSocket client for the reliability tests: it records every frame the daemon sends (parsed
 * JSON, plus the raw text for well-formedness checks) and lets a test wait for a matching frame with a
 * timeout that says what was awaited. No reconnects, no dedupe: the tests want to see the wire as is.
 */
import type { ServerMessage } from "./deps";
import { deferred, WAIT_MS, WaitTimeoutError } from "./wait";

export interface Closed {
  code: number;
  reason: string;
}

interface Waiter {
  pred: (f: ServerMessage) => boolean;
  resolve: (f: ServerMessage) => void;
}

export interface ProbeOptions {
  /** Keep every parsed frame in `frames` (default true; load tests turn it off and use `onFrame`). */
  record?: boolean;
  /** Keep the raw text of every frame in `raw` (default false). */
  keepRaw?: boolean;
  /** Name used in timeout messages. */
  label?: string;
  /** How long to wait for the connection to open (default WAIT_MS). */
  openTimeoutMs?: number;
  /** Protocol level: 2 (default) sends `hello` first and waits for its reply; 1 speaks the original. */
  level?: 1 | 2;
}

export class WsProbe {
  readonly frames: ServerMessage[] = [];
  readonly raw: string[] = [];
  /** Frames received, recorded or not. */
  received = 0;
  /** Frames that were not a JSON object with a string `type` (always a failure). */
  readonly garbage: string[] = [];
  readonly closed: Promise<Closed>;
  private waiters: Waiter[] = [];
  private listeners: ((f: ServerMessage, raw: string) => void)[] = [];
  private nextId = 1;
  private closeInfo: Closed | undefined;

  private constructor(
    readonly socket: WebSocket,
    readonly label: string,
    private readonly opts: ProbeOptions,
  ) {
    const closed = deferred<Closed>();
    this.closed = closed.promise;
    socket.addEventListener("message", (e) => this.onMessage(e.data));
    socket.addEventListener("close", (e) => {
      this.closeInfo = { code: e.code, reason: e.reason };
      closed.resolve(this.closeInfo);
    });
  }

  /** Opens a connection with the daemon's token (Authorization header, as a non-browser client). */
  static async connect(url: string, token: string, opts: ProbeOptions = {}): Promise<WsProbe> {
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
    } as unknown as string[]);
    const probe = new WsProbe(socket, opts.label ?? "client", opts);
    const opened = deferred<void>();
    const timeoutMs = opts.openTimeoutMs ?? WAIT_MS;
    const timer = setTimeout(
      () =>
        opened.reject(
          new WaitTimeoutError(`${probe.label}: connection to ${url} not open after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    socket.addEventListener("open", () => opened.resolve());
    socket.addEventListener("close", (e) =>
      opened.reject(
        new Error(`${probe.label}: connection to ${url} closed before opening (${e.code} ${e.reason})`),
      ),
    );
    try {
      await opened.promise;
    } finally {
      clearTimeout(timer);
    }
    if ((opts.level ?? 2) === 2) {
      probe.send({ type: "hello", protocol: 2 });
      await probe.waitFor((f) => f.type === "hello", timeoutMs, `${probe.label}: the hello reply`);
    }
    return probe;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** The close code and reason once closed. */
  get closeEvent(): Closed | undefined {
    return this.closeInfo;
  }

  /** Called for every frame, recorded or not. */
  onFrame(listener: (f: ServerMessage, raw: string) => void): void {
    this.listeners.push(listener);
  }

  /** Sends an object as JSON, or a string / bytes as they are. */
  send(msg: object | string | Uint8Array): void {
    if (typeof msg === "string" || msg instanceof Uint8Array) this.socket.send(msg);
    else this.socket.send(JSON.stringify(msg));
  }

  /** A fresh id for a request (`<label>-<n>`). */
  id(): string {
    return `${this.label}-${this.nextId++}`;
  }

  /**
   * Sends `msg` with a fresh id and resolves with the answer that carries `replyTo` = that id (an `ack`,
   * `error` or `chat.error`).
   */
  async request(msg: Record<string, unknown>, timeoutMs = WAIT_MS): Promise<ServerMessage> {
    const id = this.id();
    this.send({ ...msg, id });
    return this.waitFor(
      (f) => (f.type === "ack" || f.type === "error" || f.type === "chat.error") && f.replyTo === id,
      timeoutMs,
      `the answer to ${String(msg.type)} ${id}`,
    );
  }

  /**
   * Resolves with the first frame (already received since index `since`, or arriving later) that
   * matches; rejects after `timeoutMs` with `what`, or at once when the connection closes.
   */
  waitFor<T extends ServerMessage = ServerMessage>(
    pred: ((f: ServerMessage) => f is T) | ((f: ServerMessage) => boolean),
    timeoutMs: number,
    what: string,
    opts: { since?: number } = {},
  ): Promise<T> {
    if (this.opts.record !== false) {
      for (let i = opts.since ?? 0; i < this.frames.length; i++) {
        const f = this.frames[i]!;
        if (pred(f)) return Promise.resolve(f as T);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new WaitTimeoutError(
            `${this.label}: timed out after ${timeoutMs} ms waiting for ${what} (${this.received} frames received${this.closeInfo ? `, closed ${this.closeInfo.code}` : ""})`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
      this.closed.then((c) => {
        if (!this.waiters.includes(waiter)) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(timer);
        reject(
          new Error(`${this.label}: connection closed (${c.code} ${c.reason}) while waiting for ${what}`),
        );
      });
    });
  }

  /**
   * Resolves once `condition()` holds: checked now, then after every frame (for state kept outside the
   * probe, such as a TurnRecorder fed by `onFrame`).
   */
  async until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return;
    await this.waitFor(() => condition(), timeoutMs, what, { since: Number.POSITIVE_INFINITY });
  }

  /** Stops reading from the socket: the daemon sees TCP backpressure (a slow consumer). */
  pause(): boolean {
    return (this.socket as unknown as { pause(): boolean }).pause();
  }

  resume(): boolean {
    return (this.socket as unknown as { resume(): boolean }).resume();
  }

  close(code = 1000): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code);
    }
  }

  private onMessage(data: unknown): void {
    this.received++;
    const text = typeof data === "string" ? data : `<binary ${String(data)}>`;
    if (this.opts.keepRaw) this.raw.push(text);
    let frame: ServerMessage;
    try {
      const value: unknown = JSON.parse(text);
      if (
        typeof value !== "object" ||
        value === null ||
        typeof (value as { type?: unknown }).type !== "string"
      ) {
        throw new Error("not an object with a string type");
      }
      frame = value as ServerMessage;
    } catch {
      this.garbage.push(text.slice(0, 200));
      return;
    }
    if (this.opts.record !== false) this.frames.push(frame);
    for (const l of this.listeners) l(frame, text);
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => w.pred(frame));
      if (ready.length > 0) {
        this.waiters = this.waiters.filter((w) => !ready.includes(w));
        for (const w of ready) w.resolve(frame);
      }
    }
  }
}
