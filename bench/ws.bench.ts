/**
 * WebSocket fan-out benchmark (`bun run bench`, or standalone: `bun bench/ws.bench.ts [--quick]`).
 *
 * - Events delivered per second to 1, 16 and 100 subscribers of one streaming conversation through the
 *   transport's path (orchestrator listener → serialize once → Bun topic publish → backpressure check),
 *   against a bare Bun.serve publishing the same serialized frames to the same clients (the practical
 *   limit), measured in the same run.
 * - p50/p99 latency from emission to client receipt at 20 concurrent streams × 200 events/s × 5 clients,
 *   against the same load on the bare server.
 *
 * Events come from a stand-in that implements the Orchestrator contract (the turn loop is not measured
 * here). Clients run in a worker thread, so server and clients use separate cores. Emission is paced
 * by the clients' progress (at most WINDOW events in flight per subscriber), identically for both.
 *
 * This file is also the worker: loaded off the main thread, it runs the clients.
 */
import { isMainThread } from "node:worker_threads";
import type { Disposer } from "../packages/kernel/src/index";
import type { AgentEvent } from "../packages/protocol/src/types";
import type { ConversationListener, Orchestrator } from "../packages/session-orchestrator/src/contract";
import { createSurfaceRegistry } from "../packages/surface-registry/src/index";
import { parseWsConfig, startWsServer } from "../packages/transport-ws/src/index";
import { type BenchOptions, type BenchResult, result } from "./types";

const TOKEN = "bench-token-0123456789abcdef";
/** Events in flight per subscriber before the emitter waits for the clients. */
const WINDOW = 1000;

type ToWorker =
  | { kind: "connect"; url: string; subscriptions: string[][]; bare: boolean; latency: boolean }
  | { kind: "finish" };
type FromWorker =
  | { kind: "ready" }
  | { kind: "progress"; delivered: number; at: number }
  | { kind: "result"; delivered: number; latencies: number[] };

/** Absolute milliseconds with sub-millisecond precision, comparable across threads. */
const now = () => performance.timeOrigin + performance.now();

// ───────────────────────────── the client worker ─────────────────────────────

function runWorker(): void {
  const port = self as unknown as Worker;
  let sockets: WebSocket[] = [];
  let delivered = 0;
  let reported = 0;
  let scheduled = false;
  const latencies: number[] = [];
  let latency = false;

  const report = () => {
    reported = delivered;
    port.postMessage({ kind: "progress", delivered, at: now() } satisfies FromWorker);
  };
  /** Reports in batches, and soon after the last frame of a burst. */
  const reportSoon = () => {
    if (delivered - reported >= 250) report();
    else if (!scheduled) {
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        if (delivered !== reported) report();
      }, 0);
    }
  };

  function onFrame(data: string): void {
    if (!data.startsWith('{"type":"chat.delta"')) return; // presence, acks, catalog
    delivered++;
    if (latency) {
      const frame = JSON.parse(data) as { event: { delta?: string } };
      latencies.push(now() - Number(frame.event.delta));
    }
    reportSoon();
  }

  async function connect(msg: Extract<ToWorker, { kind: "connect" }>): Promise<void> {
    latency = msg.latency;
    sockets = await Promise.all(
      msg.subscriptions.map(async (conversations) => {
        const topics = msg.bare ? `?topics=${encodeURIComponent(conversations.join(","))}` : "";
        const ws = new WebSocket(`${msg.url}/${topics}`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        } as unknown as string[]);
        let acks = 0;
        const subscribed = new Promise<void>((resolve, reject) => {
          ws.onerror = () => reject(new Error("bench client could not connect"));
          ws.onmessage = (e) => {
            const data = String(e.data);
            if (data.startsWith('{"type":"ack"') && ++acks === conversations.length) resolve();
            else onFrame(data);
          };
          ws.onopen = () => {
            if (msg.bare) return resolve();
            for (const cid of conversations)
              ws.send(JSON.stringify({ type: "chat.subscribe", conversationId: cid, id: cid }));
          };
        });
        await subscribed;
        ws.onmessage = (e) => onFrame(String(e.data));
        return ws;
      }),
    );
    port.postMessage({ kind: "ready" } satisfies FromWorker);
  }

  port.onmessage = (e: MessageEvent<ToWorker>) => {
    const msg = e.data;
    if (msg.kind === "connect") void connect(msg);
    else {
      report();
      port.postMessage({ kind: "result", delivered, latencies } satisfies FromWorker);
      for (const ws of sockets) ws.close();
    }
  };
}

if (!isMainThread) runWorker();

// ───────────────────────────── servers ─────────────────────────────

/** Emits one event of `conversationId` through whichever server is being measured. */
type Emit = (conversationId: string, event: AgentEvent, n: number) => void;

interface BenchServer {
  url: string;
  emit: Emit;
  stop(): Promise<void>;
}

/** The transport under test, fed by a stand-in for the conversations' hubs (subscribed per conversation). */
class EventSource implements Partial<Orchestrator> {
  listeners = new Map<string, Set<ConversationListener>>();
  subscribe(conversationId: string, listener: ConversationListener): Disposer {
    let set = this.listeners.get(conversationId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(conversationId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }
  emit(conversationId: string, event: AgentEvent, n: number): void {
    for (const l of this.listeners.get(conversationId) ?? []) l(event, n);
  }
  replay() {
    return [];
  }
}

function transportServer(): BenchServer {
  const source = new EventSource();
  const parsed = parseWsConfig({ port: 0, token: TOKEN, rateLimit: { burst: 10_000, perSecond: 10_000 } });
  if (!parsed.ok) throw new Error(parsed.message);
  const server = startWsServer({
    config: parsed.config,
    token: TOKEN,
    registry: createSurfaceRegistry({}),
    orchestrator: source as unknown as Orchestrator,
    logger: { debug() {}, info() {}, warn() {}, error() {}, child: () => silent },
    newConversationId: () => crypto.randomUUID(),
    now: () => performance.now(),
  });
  return { url: server.url, emit: (cid, event, n) => source.emit(cid, event, n), stop: () => server.close() };
}
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

/** The practical limit: a bare Bun.serve that publishes the same frames (sockets join topics from the URL). */
function bareServer(): BenchServer {
  const server = Bun.serve<{ topics: string[] }>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const topics = (new URL(req.url).searchParams.get("topics") ?? "").split(",").filter(Boolean);
      return srv.upgrade(req, { data: { topics } }) ? undefined : new Response("upgrade", { status: 426 });
    },
    websocket: {
      perMessageDeflate: false,
      open(ws) {
        for (const t of ws.data.topics) ws.subscribe(`conv:${t}`);
      },
      message() {},
    },
  });
  return {
    url: `ws://127.0.0.1:${server.port}`,
    emit: (cid, event, n) => {
      server.publish(`conv:${cid}`, JSON.stringify({ type: "chat.delta", event, n }), false);
    },
    stop: () => server.stop(true),
  };
}

// ───────────────────────────── driver ─────────────────────────────

class Clients {
  private worker = new Worker(import.meta.url);
  private waiters: ((m: FromWorker) => boolean)[] = [];
  delivered = 0;
  lastAt = 0;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.kind === "progress") {
        this.delivered = m.delivered;
        this.lastAt = m.at;
      }
      this.waiters = this.waiters.filter((w) => !w(m));
    };
  }

  private until<T extends FromWorker>(pred: (m: FromWorker) => m is T, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: timed out waiting for ${what}`)), 60_000);
      this.waiters.push((m) => {
        if (!pred(m)) return false;
        clearTimeout(timer);
        resolve(m);
        return true;
      });
    });
  }

  async connect(url: string, subscriptions: string[][], bare: boolean, latency: boolean): Promise<void> {
    const ready = this.until((m): m is FromWorker => m.kind === "ready", "the clients to subscribe");
    this.worker.postMessage({ kind: "connect", url, subscriptions, bare, latency } satisfies ToWorker);
    await ready;
  }

  /** Resolves at the next progress report (or immediately when `delivered` is already reached). */
  progress(): Promise<unknown> {
    return this.until((m): m is FromWorker => m.kind === "progress", "client progress");
  }

  async finish(): Promise<Extract<FromWorker, { kind: "result" }>> {
    const done = this.until(
      (m): m is Extract<FromWorker, { kind: "result" }> => m.kind === "result",
      "the client results",
    );
    this.worker.postMessage({ kind: "finish" } satisfies ToWorker);
    try {
      return await done;
    } finally {
      this.terminate();
    }
  }

  terminate(): void {
    this.worker.terminate();
  }
}

const textDelta = (conversationId: string, delta: string): AgentEvent => ({
  type: "text-delta",
  conversationId,
  turnId: "bench-turn",
  delta,
});

/** Deliveries per second: `events` of one conversation to `subscribers` clients. */
async function throughput(
  make: () => BenchServer,
  subscribers: number,
  events: number,
  bare: boolean,
): Promise<number> {
  const server = make();
  const clients = new Clients();
  try {
    await clients.connect(
      server.url,
      Array.from({ length: subscribers }, () => ["bench"]),
      bare,
      false,
    );
    const expected = events * subscribers;
    const start = now();
    let n = 0;
    while (n < events) {
      if ((n - WINDOW) * subscribers > clients.delivered) {
        await clients.progress();
        continue;
      }
      const end = Math.min(events, n + 100);
      while (n < end) {
        n++;
        server.emit("bench", textDelta("bench", `word${n} `), n);
      }
      await new Promise((r) => setImmediate(r));
    }
    while (clients.delivered < expected) await clients.progress();
    return expected / ((clients.lastAt - start) / 1000);
  } finally {
    await clients.finish();
    await server.stop();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Emission → receipt latencies (ms) of `streams` conversations × `perStream` clients at `rate` events/s each. */
async function latency(
  make: () => BenchServer,
  bare: boolean,
  opts: { streams: number; perStream: number; rate: number; seconds: number },
): Promise<{ p50: number; p99: number; count: number }> {
  const server = make();
  const clients = new Clients();
  const cids = Array.from({ length: opts.streams }, (_, i) => `stream-${i}`);
  try {
    const subs = cids.flatMap((cid) => Array.from({ length: opts.perStream }, () => [cid]));
    await clients.connect(server.url, subs, bare, true);
    const tickMs = 1000 / opts.rate;
    const ticks = Math.round(opts.seconds * opts.rate);
    let n = 0;
    const start = now();
    while (n < ticks) {
      n++;
      for (const cid of cids) server.emit(cid, textDelta(cid, String(now())), n);
      const wait = start + n * tickMs - now();
      await (wait > 0 ? Bun.sleep(wait) : new Promise((r) => setImmediate(r)));
    }
    const expected = ticks * opts.streams * opts.perStream;
    while (clients.delivered < expected) await clients.progress();
    const r = await clients.finish();
    const sorted = r.latencies.sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
  } finally {
    clients.terminate();
    await server.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export async function benchWs(opts: BenchOptions): Promise<BenchResult[]> {
  const rounds = opts.quick ? 1 : 3;
  const rows: BenchResult[] = [];
  // Warm-up: JIT both paths before anything is measured.
  await throughput(bareServer, 4, 2_000, true);
  await throughput(transportServer, 4, 2_000, false);
  for (const [subscribers, events] of [
    [1, opts.quick ? 20_000 : 100_000],
    [16, opts.quick ? 4_000 : 20_000],
    [100, opts.quick ? 1_000 : 5_000],
  ] as const) {
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which one goes first, so drift in the machine's load hits both alike.
      const pair = [
        async () => raw.push(await throughput(bareServer, subscribers, events, true)),
        async () => ours.push(await throughput(transportServer, subscribers, events, false)),
      ];
      if (i % 2 === 1) pair.reverse();
      for (const run of pair) await run();
    }
    rows.push(
      result(
        `fan-out, ${subscribers} subscriber${subscribers === 1 ? "" : "s"}`,
        median(ours),
        "deliveries/s",
        median(raw),
        `bare Bun.serve + server.publish of the same frames; ${events} events, median of ${rounds}`,
      ),
    );
  }
  const load = { streams: 20, perStream: 5, rate: 200, seconds: opts.quick ? 1 : 3 };
  const rawLat: { p50: number; p99: number; count: number }[] = [];
  const ourLat: { p50: number; p99: number; count: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    const pair = [
      async () => rawLat.push(await latency(bareServer, true, load)),
      async () => ourLat.push(await latency(transportServer, false, load)),
    ];
    if (i % 2 === 1) pair.reverse();
    for (const run of pair) await run();
  }
  const samples = ourLat.reduce((n, r) => n + r.count, 0);
  const what = `${load.streams} streams × ${load.rate} ev/s × ${load.perStream} clients, ${samples} samples, median of ${rounds}; lower is better; baseline: bare server`;
  const med = (xs: { p50: number; p99: number }[], k: "p50" | "p99") => median(xs.map((x) => x[k]));
  rows.push(result("emission → receipt p50", med(ourLat, "p50"), "ms", med(rawLat, "p50"), what));
  rows.push(result("emission → receipt p99", med(ourLat, "p99"), "ms", med(rawLat, "p99"), what));
  return rows;
}

if (import.meta.main && isMainThread) {
  const rows = await benchWs({ quick: process.argv.includes("--quick") });
  console.table(rows);
}
