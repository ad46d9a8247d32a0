/**
 * Watching at scale (`bun run bench`, or standalone: `bun bench/watch.bench.ts [--quick]`): what
 * permessage-deflate (`[ws] compression`) and batching (`hello.batchMs`) cost and save on the daemon's
 * WebSocket transport, at 1 and 100 watchers of one streaming turn.
 *
 * Per configuration, the same paced turn (text deltas of a few words, like a model's; some tool output)
 * is sent to the watchers through the real transport (startWsServer over a stand-in event source), and
 * we measure:
 * - bytes on the wire from the server, per delivered event (counted by a TCP proxy in the client worker);
 * - the server's CPU time (the main thread only: clients and proxy run in a worker thread), per 1000
 *   delivered events;
 * - emission → receipt latency p50 / p99 (timestamps in the deltas).
 * The baseline of each row is the same figure without compression and without batching, measured in
 * the same run (configurations interleaved).
 *
 * This file is also the worker: loaded off the main thread, it runs the proxy and the clients.
 */
import { readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import type { Disposer } from "../packages/kernel/src/index";
import type { AgentEvent } from "../packages/protocol/src/types";
import type { ConversationListener, Orchestrator } from "../packages/session-orchestrator/src/contract";
import { createSurfaceRegistry } from "../packages/surface-registry/src/index";
import { parseWsConfig, startWsServer } from "../packages/transport-ws/src/index";
import { type BenchOptions, type BenchResult, result } from "./types";

const TOKEN = "bench-token-0123456789abcdef";

type ToWorker = { kind: "connect"; port: number; watchers: number; batchMs: number } | { kind: "finish" };
type FromWorker =
  | { kind: "ready" }
  | { kind: "progress"; delivered: number }
  | { kind: "result"; delivered: number; bytes: number; latencies: number[] };

const now = () => performance.timeOrigin + performance.now();

// ───────────────────────────── the client worker ─────────────────────────────

function runWorker(): void {
  const self_ = self as unknown as Worker;
  let delivered = 0;
  let bytes = 0;
  const latencies: number[] = [];
  const sockets: WebSocket[] = [];
  let proxy: { port: number; stop(closeActive?: boolean): void } | undefined;
  let lastReport = 0;

  const count = (event: { delta?: string; data?: string }) => {
    delivered++;
    const text = event.delta ?? event.data ?? "";
    const bar = text.indexOf("|");
    if (bar > 0) latencies.push(now() - Number(text.slice(0, bar)));
    if (delivered - lastReport >= 200) {
      lastReport = delivered;
      self_.postMessage({ kind: "progress", delivered } satisfies FromWorker);
    }
  };
  const onFrame = (data: string) => {
    const f = JSON.parse(data) as { type: string; event?: { delta?: string }; events?: { event: object }[] };
    if (f.type === "chat.delta" && f.event) count(f.event);
    else if (f.type === "chat.batch") for (const e of f.events ?? []) count(e.event);
  };

  async function connect(msg: Extract<ToWorker, { kind: "connect" }>): Promise<void> {
    // A counting proxy: every byte the server sends to a client passes here.
    type Up = { write(b: Uint8Array): number; end(): void };
    const listener = Bun.listen<{ up?: Up; early: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        async open(client) {
          client.data = { early: [] };
          const up = await Bun.connect({
            hostname: "127.0.0.1",
            port: msg.port,
            socket: {
              data(_s, chunk) {
                bytes += chunk.byteLength;
                client.write(chunk);
              },
              close() {
                client.end();
              },
            },
          });
          client.data.up = up;
          for (const c of client.data.early) up.write(c);
        },
        data(client, chunk) {
          if (client.data.up) client.data.up.write(chunk);
          else client.data.early.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data.up?.end();
        },
      },
    });
    proxy = listener;
    const url = `ws://127.0.0.1:${listener.port}`;
    for (let i = 0; i < msg.watchers; i++) {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${TOKEN}` } } as unknown as string[]);
      await new Promise<void>((resolve, reject) => {
        ws.onerror = () => reject(new Error("bench client could not connect"));
        ws.onmessage = (e) => {
          const data = String(e.data);
          if (data.includes('"replyTo":"sub"')) resolve();
        };
        ws.onopen = () => {
          ws.send(
            JSON.stringify({
              type: "hello",
              protocol: 2,
              ...(msg.batchMs > 0 ? { batchMs: msg.batchMs } : {}),
            }),
          );
          ws.send(JSON.stringify({ type: "chat.subscribe", conversationId: "bench", id: "sub" }));
        };
      });
      ws.onmessage = (e) => onFrame(String(e.data));
      sockets.push(ws);
    }
    bytes = 0;
    self_.postMessage({ kind: "ready" } satisfies FromWorker);
  }

  self_.onmessage = (e: MessageEvent<ToWorker>) => {
    const msg = e.data;
    if (msg.kind === "connect") void connect(msg);
    else {
      self_.postMessage({ kind: "result", delivered, bytes, latencies } satisfies FromWorker);
      for (const ws of sockets) ws.close();
      proxy?.stop(true);
    }
  };
}

if (!isMainThread) runWorker();

// ───────────────────────────── the server side ─────────────────────────────

/** CPU time of this thread alone (the server; the clients run in a worker), in ms. */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

class Source {
  listeners = new Set<ConversationListener>();
  subscribe(_cid: string, l: ConversationListener): Disposer {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }
  replay() {
    return [];
  }
  runningConversations() {
    return [];
  }
  runningTurn() {
    return undefined;
  }
  emit(event: AgentEvent, n: number): void {
    for (const l of this.listeners) l(event, n);
  }
}
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const WORDS =
  "the of and to in is that for it as with was on be by this are from or at an which have not but can all we one there their if would so will more when what about up out into some than them only its like time could then also now how other any these two may first well way even because over new after most such through where much work should between very".split(
    " ",
  );

/** A model-like delta: a few words (every 20th event a line of tool output instead), with its send time. */
function eventAt(n: number, seed: { v: number }): AgentEvent {
  const pick = () => {
    seed.v = (seed.v * 1103515245 + 12345) % 2 ** 31;
    return WORDS[seed.v % WORDS.length] as string;
  };
  const words = Array.from({ length: 3 + (n % 5) }, pick).join(" ");
  if (n % 20 === 0)
    return {
      type: "tool-output",
      conversationId: "bench",
      turnId: "bench-turn",
      toolCallId: "call-1",
      stream: "stdout",
      data: `${now()}|src/${pick()}/${pick()}.ts:${n}: export function ${pick()}() { return ${pick()}; }\n`,
    };
  return { type: "text-delta", conversationId: "bench", turnId: "bench-turn", delta: `${now()}|${words} ` };
}

interface Config {
  label: string;
  compression: "off" | "all";
  batchMs: number;
}

interface Measured {
  bytesPerEvent: number;
  cpuMsPer1000: number;
  p50: number;
  p99: number;
}

async function measure(cfg: Config, watchers: number, rate: number, seconds: number): Promise<Measured> {
  const source = new Source();
  const parsed = parseWsConfig({ port: 0, token: TOKEN, compression: cfg.compression });
  if (!parsed.ok) throw new Error(parsed.message);
  const server = startWsServer({
    config: parsed.config,
    token: TOKEN,
    registry: createSurfaceRegistry({}),
    orchestrator: source as unknown as Orchestrator,
    logger: silent,
    newConversationId: () => "x",
    now: () => performance.now(),
  });
  const worker = new Worker(import.meta.url);
  let delivered = 0;
  let final: Extract<FromWorker, { kind: "result" }> | undefined;
  const waiters: (() => void)[] = [];
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    if (e.data.kind === "progress") delivered = e.data.delivered;
    if (e.data.kind === "result") final = e.data;
    for (const w of waiters.splice(0)) w();
  };
  const next = () =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("bench: the clients stopped answering")), 60_000);
      waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  try {
    worker.postMessage({
      kind: "connect",
      port: server.port,
      watchers,
      batchMs: cfg.batchMs,
    } satisfies ToWorker);
    await next();
    const ticks = Math.round(rate * seconds);
    const seed = { v: 7 };
    const cpu0 = mainThreadCpuMs();
    const start = now();
    for (let n = 1; n <= ticks; n++) {
      source.emit(eventAt(n, seed), n);
      const wait = start + (n * 1000) / rate - now();
      if (wait > 0) await Bun.sleep(wait);
      else if (n % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    const expected = ticks * watchers;
    while (delivered < expected - 200) await next();
    await Bun.sleep(cfg.batchMs + 50);
    const cpu = mainThreadCpuMs() - cpu0;
    worker.postMessage({ kind: "finish" } satisfies ToWorker);
    while (final === undefined) await next();
    const r = final;
    const sorted = r.latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
    return {
      bytesPerEvent: r.bytes / r.delivered,
      cpuMsPer1000: (cpu / r.delivered) * 1000,
      p50: pct(50),
      p99: pct(99),
    };
  } finally {
    worker.terminate();
    await server.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function benchWatch(opts: BenchOptions): Promise<BenchResult[]> {
  const rounds = opts.quick ? 1 : 3;
  const seconds = opts.quick ? 1 : 3;
  const configs: Config[] = [
    { label: "plain", compression: "off", batchMs: 0 },
    { label: "deflate", compression: "all", batchMs: 0 },
    { label: "batch 50 ms", compression: "off", batchMs: 50 },
    { label: "deflate + batch 50 ms", compression: "all", batchMs: 50 },
  ];
  const rows: BenchResult[] = [];
  await measure(configs[1] as Config, 4, 200, 0.3); // warm-up (JIT, zlib)
  for (const [watchers, rate] of [
    [1, 500],
    [100, 200],
  ] as const) {
    const got = new Map<string, Measured[]>();
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? configs : [...configs].reverse();
      for (const c of order) {
        const m = await measure(c, watchers, rate, seconds);
        got.set(c.label, [...(got.get(c.label) ?? []), m]);
      }
    }
    const med = (label: string, k: keyof Measured) => median((got.get(label) ?? []).map((m) => m[k]));
    const w = `${watchers} watcher${watchers === 1 ? "" : "s"}`;
    const note = `${rate} events/s for ${seconds} s, median of ${rounds}; baseline: plain (no deflate, no batching); lower is better`;
    for (const c of configs.slice(1)) {
      rows.push(
        result(
          `${c.label}, ${w}: wire bytes/event`,
          med(c.label, "bytesPerEvent"),
          "B",
          med("plain", "bytesPerEvent"),
          note,
        ),
      );
      rows.push(
        result(
          `${c.label}, ${w}: server CPU`,
          med(c.label, "cpuMsPer1000"),
          "ms/1000 ev",
          med("plain", "cpuMsPer1000"),
          note,
        ),
      );
      rows.push(
        result(`${c.label}, ${w}: latency p50`, med(c.label, "p50"), "ms", med("plain", "p50"), note),
      );
      rows.push(
        result(`${c.label}, ${w}: latency p99`, med(c.label, "p99"), "ms", med("plain", "p99"), note),
      );
    }
  }
  return rows;
}

if (import.meta.main && isMainThread) {
  const rows = await benchWatch({ quick: process.argv.includes("--quick") });
  console.table(
    rows.map((r) => ({
      name: r.name,
      value: r.value.toFixed(3),
      plain: r.baseline.toFixed(3),
      ratio: r.ratio.toFixed(2),
    })),
  );
}
