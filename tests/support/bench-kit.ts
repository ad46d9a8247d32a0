/**
 * Small pieces for bench/daemon.bench.ts: a WebSocket client that only counts frames (the bench's
 * clients must cost as little as possible, identically for the daemon and its baselines), the baseline
 * server subprocess, process timing and percentiles.
 */
import path from "node:path";
import type { Subprocess } from "bun";
import { REPO_ROOT } from "./daemon";
import { deferred, WaitTimeoutError } from "./wait";

export const log = (msg: string): void => {
  process.stderr.write(`bench daemon: ${msg}\n`);
};

/** Pure: the p-th percentile (0..100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Resolves the waiters that are ready; returns the others. */
function settle<W extends { resolve: () => void }>(waiters: W[], ready: (w: W) => boolean): W[] {
  const rest: W[] = [];
  for (const w of waiters) {
    if (ready(w)) w.resolve();
    else rest.push(w);
  }
  return rest;
}

/**
 * A raw WebSocket that counts `chat.delta` frames, notices a frame containing `"turn-sealed"`, and can
 * wait for a frame containing a marker string. No JSON parsing unless `onDelta` asks for it.
 */
export class CountingClient {
  deltas = 0;
  sealed = 0;
  /** The close code, once the connection closed (4008: closed as a slow consumer). */
  closeCode: number | undefined;
  private markers: { text: string; resolve: () => void }[] = [];
  private sealWaiters: { count: number; resolve: () => void }[] = [];
  onDelta: ((text: string) => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.onclose = (e) => {
      this.closeCode = e.code;
    };
    ws.onmessage = (e) => {
      const text = e.data as string;
      if (text.startsWith('{"type":"chat.delta"')) {
        this.deltas++;
        this.onDelta?.(text);
        if (text.includes('"turn-sealed"')) {
          this.sealed++;
          this.sealWaiters = settle(this.sealWaiters, (w) => w.count <= this.sealed);
        }
        return;
      }
      if (this.markers.length > 0) this.markers = settle(this.markers, (m) => text.includes(m.text));
    };
  }

  static open(url: string, token?: string, timeoutMs = 30_000): Promise<CountingClient> {
    const ws = new WebSocket(
      url,
      (token ? { headers: { Authorization: `Bearer ${token}` } } : {}) as unknown as string[],
    );
    const opened = deferred<CountingClient>();
    const timer = setTimeout(
      () => opened.reject(new WaitTimeoutError(`no connection to ${url} after ${timeoutMs} ms`)),
      timeoutMs,
    );
    ws.onopen = () => {
      clearTimeout(timer);
      opened.resolve(new CountingClient(ws));
    };
    ws.onerror = () => {
      clearTimeout(timer);
      opened.reject(new Error(`cannot connect to ${url}`));
    };
    return opened.promise;
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Resolves on the next non-delta frame that contains `text`. */
  marker(text: string, timeoutMs: number, what: string): Promise<void> {
    return withDeadline(
      new Promise<void>((resolve) => this.markers.push({ text, resolve })),
      timeoutMs,
      what,
    );
  }

  /** Resolves once `count` turn-sealed frames arrived in total. */
  sealedAt(count: number, timeoutMs: number, what: string): Promise<void> {
    if (this.sealed >= count) return Promise.resolve();
    return withDeadline(
      new Promise<void>((resolve) => this.sealWaiters.push({ count, resolve })),
      timeoutMs,
      what,
    );
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.ws.addEventListener("close", () => resolve()));
    this.ws.close();
    return closed;
  }
}

export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The bare Bun.serve baseline (bench-baseline-server.ts) as a subprocess. */
export class BaselineServer {
  private constructor(
    readonly proc: Subprocess,
    readonly url: string,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  static async start(): Promise<BaselineServer> {
    const proc = Bun.spawn([process.execPath, path.join(import.meta.dir, "bench-baseline-server.ts")], {
      cwd: REPO_ROOT,
      stdout: "pipe",
      stderr: "inherit",
      stdin: "ignore",
    });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const line = await withDeadline(
      (async () => {
        while (!text.includes("\n")) {
          const { done, value } = await reader.read();
          if (done) throw new Error("the baseline server exited before printing its port");
          text += decoder.decode(value, { stream: true });
        }
        return text.slice(0, text.indexOf("\n"));
      })(),
      30_000,
      "the baseline server's port",
    );
    reader.releaseLock();
    const { port } = JSON.parse(line) as { port: number };
    return new BaselineServer(proc, `ws://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    this.proc.kill("SIGTERM");
    await this.proc.exited;
  }
}

/** Milliseconds from spawn to exit of a command (which must exit 0). */
export async function timeProcess(cmd: string[], env?: Record<string, string>): Promise<number> {
  const started = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: REPO_ROOT,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    ...(env ? { env } : {}),
  });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout as ReadableStream<Uint8Array>).text(),
    new Response(proc.stderr as ReadableStream<Uint8Array>).text(),
  ]);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}\n${out}\n${err}`);
  return ms;
}
