/**
 * End-to-end benchmark of the real daemon (a subprocess, as users run it), each figure next to a
 * baseline measured in the same run (`bun run bench`, `bun run bench:quick`; see BENCHMARKS.md).
 *
 * - Fan-out: events/s delivered to 1, 16 and 100 subscribers of one conversation streamed by the
 *   offline model with zero delay, vs a bare Bun.serve publishing the same frames (the limit) and vs a
 *   naive per-connection JSON.stringify + send loop. Baselines run in their own process, like the
 *   daemon; the clients are the same counting clients in this process for all three.
 * - Latency p50/p99/max from a provider token being written to its receipt by a client, at 20
 *   concurrent streams × 5 clients, the provider a loopback OpenAI-format server that stamps each
 *   delta; baseline: a bare relay (fetch the same stream, publish each delta to the same clients).
 * - Late-join replay of a running turn with 10 000 buffered events, vs sending the same number of
 *   frames over a bare socket. History window read at 100 000 chunks over HTTP, vs the same window of
 *   a 200-chunk conversation.
 * - Memory: RSS idle, bytes per idle connection (1 000), growth after connect/disconnect cycles;
 *   baseline: the bare server (idle, per connection) or the RSS before the cycles.
 * - Cold start to daemon.json and the CLI `open` round trip, vs spawning `bun -e 0`.
 * - Idle CPU with 100 idle connections, vs the bare server with 100 idle connections, same window.
 *
 * Prints nothing on stdout (progress goes to stderr); bench/run.ts prints the returned rows.
 */
import { join } from "node:path";
import {
  BaselineServer,
  CountingClient,
  log,
  median,
  percentile,
  timeProcess,
  withDeadline,
} from "../tests/support/bench-kit";
import { DaemonProcess, localModelToml, makeHome, REPO_ROOT, removeHome } from "../tests/support/daemon";
import { openConversationStore } from "../tests/support/deps";
import { cpuMs, rssBytes } from "../tests/support/proc";
import { STAMPED_MODEL, stampNow, stampOf, startStampedProvider } from "../tests/support/stamped-provider";
import { type BenchOptions, type BenchResult, result } from "./types";

const MB = 2 ** 20;
/** Throughput, not policy: the slow-consumer cap and the rate limit are raised for this daemon. */
const BENCH_TOML = localModelToml(
  0,
  `[ws]\nmaxBufferedBytes = 1073741824\n[ws.rateLimit]\nburst = 1000000\nperSecond = 1000000\n[log]\nlevel = "warn"\n`,
);
const BUN_E0 = [process.execPath, "-e", "0"];

interface Ctx {
  quick: boolean;
  daemon: DaemonProcess;
  baseline: BaselineServer;
  provider: ReturnType<typeof startStampedProvider>;
}

const daemonClient = (ctx: Ctx) => CountingClient.open(ctx.daemon.wsUrl, ctx.daemon.token);
const baselineClient = (ctx: Ctx) => CountingClient.open(ctx.baseline.url);

async function openMany(n: number, open: () => Promise<CountingClient>): Promise<CountingClient[]> {
  const out: CountingClient[] = [];
  for (let i = 0; i < n; i += 50)
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, open))));
  return out;
}

const closeAll = (clients: CountingClient[]) => Promise.all(clients.map((c) => c.close()));

async function subscribeDaemon(clients: CountingClient[], conversationId: string): Promise<void> {
  await Promise.all(
    clients.map((c, i) => {
      const id = `sub-${i}-${conversationId}`;
      const acked = c.marker(`"replyTo":"${id}"`, 30_000, `the ack of ${id}`);
      c.send({ type: "chat.subscribe", conversationId, id });
      return acked;
    }),
  );
}

async function subscribeBaseline(clients: CountingClient[], topic: string): Promise<void> {
  await Promise.all(
    clients.map((c) => {
      const subbed = c.marker('"subbed"', 30_000, `baseline subscription to ${topic}`);
      c.send({ op: "sub", topic });
      return subbed;
    }),
  );
}

/** Runs `trigger` and resolves with events/s once every client saw a turn-sealed frame. */
async function deliveredPerSecond(clients: CountingClient[], trigger: () => void, what: string) {
  const before = clients.reduce((n, c) => n + c.deltas, 0);
  const sealed = clients.map((c) => c.sealed + 1);
  const started = performance.now();
  trigger();
  await Promise.all(clients.map((c, i) => c.sealedAt(sealed[i]!, 300_000, `${what}: client ${i} sealed`)));
  const seconds = (performance.now() - started) / 1000;
  const delivered = clients.reduce((n, c) => n + c.deltas, 0) - before;
  return { rate: delivered / seconds, perClient: delivered / clients.length };
}

async function fanout(ctx: Ctx): Promise<BenchResult[]> {
  const words = ctx.quick ? 2000 : 20_000;
  const rows: BenchResult[] = [];
  for (const subs of [1, 16, 100]) {
    log(`fan-out to ${subs} subscriber(s), ${words} tokens`);
    const conversationId = crypto.randomUUID();
    const dc = await openMany(subs, () => daemonClient(ctx));
    await subscribeDaemon(dc, conversationId);
    const d = await deliveredPerSecond(
      dc,
      () =>
        dc[0]!.send({
          type: "chat.send",
          conversationId,
          message: `fan\n/long ${words}`,
          model: "local/echo",
        }),
      `daemon fan-out to ${subs}`,
    );
    await closeAll(dc);
    const frame = {
      type: "chat.delta",
      event: { type: "text-delta", conversationId, turnId: crypto.randomUUID(), delta: `word${words} ` },
    };
    const rates: Record<string, number> = {};
    for (const mode of ["raw", "naive"]) {
      const bc = await openMany(subs, () => baselineClient(ctx));
      const topic = `${mode}-${conversationId}`;
      await subscribeBaseline(bc, topic);
      const b = await deliveredPerSecond(
        bc,
        () => bc[0]!.send({ op: "fanout", topic, frame, count: Math.round(d.perClient) - 1, mode }),
        `baseline ${mode} fan-out to ${subs}`,
      );
      rates[mode] = b.rate;
      await closeAll(bc);
    }
    const per = `${subs} subscriber${subs > 1 ? "s" : ""}, ${Math.round(d.perClient)} events each`;
    rows.push(
      result(
        `fan-out to ${subs} vs raw publish`,
        d.rate,
        "events/s",
        rates.raw!,
        `higher is better; ${per}; baseline: bare Bun.serve, one server.publish per event`,
      ),
      result(
        `fan-out to ${subs} vs naive loop`,
        d.rate,
        "events/s",
        rates.naive!,
        `higher is better; ${per}; baseline: JSON.stringify + ws.send per connection per event`,
      ),
    );
  }
  return rows;
}

/** Starts a CPU meter of `pid`; calling the result gives its CPU use since, in % of one core. */
function cpuShare(pid: number): () => number {
  const cpu0 = cpuMs(pid) ?? 0;
  const t0 = performance.now();
  return () => (((cpuMs(pid) ?? 0) - cpu0) / (performance.now() - t0)) * 100;
}

/** Latencies (ms) of every text delta received by `clients`, from the provider's stamp to receipt. */
function collectLatencies(
  clients: CountingClient[],
  debug?: { idx: number; at: number; lat: number }[],
): number[] {
  const out: number[] = [];
  for (const c of clients) {
    let idx = 0;
    c.onDelta = (text) => {
      const at = stampNow();
      if (!text.includes('"text-delta"')) return;
      const delta = (JSON.parse(text) as { event: { delta?: string } }).event.delta ?? "";
      const stamp = stampOf(delta);
      if (stamp !== undefined) {
        out.push(at - stamp);
        debug?.push({ idx: idx++, at, lat: at - stamp });
      }
    };
  }
  return out;
}

function debugTail(name: string, d: { idx: number; at: number; lat: number }[]): void {
  if (!process.env.DISPATCH_BENCH_DEBUG) return;
  const p99 = percentile(
    d.map((x) => x.lat),
    99,
  );
  const t0 = Math.min(...d.map((x) => x.at));
  const slow = d.filter((x) => x.lat >= p99);
  const byIdx = new Map<number, number>();
  for (const x of slow)
    byIdx.set(Math.floor(x.idx / 20) * 20, (byIdx.get(Math.floor(x.idx / 20) * 20) ?? 0) + 1);
  const byTime = new Map<number, number>();
  for (const x of slow)
    byTime.set(
      Math.floor((x.at - t0) / 100) * 100,
      (byTime.get(Math.floor((x.at - t0) / 100) * 100) ?? 0) + 1,
    );
  log(
    `${name}: p99 ${p99.toFixed(2)}; slow by token index ${JSON.stringify([...byIdx].sort((a, b) => a[0] - b[0]))}`,
  );
  log(`${name}: slow by ms since start ${JSON.stringify([...byTime].sort((a, b) => a[0] - b[0]))}`);
  const late = d.filter((x) => x.idx >= 20).map((x) => x.lat);
  log(`${name}: p99 after token 20: ${percentile(late, 99).toFixed(2)}, max ${Math.max(...late).toFixed(1)}`);
}

async function latency(ctx: Ctx): Promise<BenchResult[]> {
  const streams = 20;
  const perStream = 5;
  const tokens = ctx.quick ? 100 : 400;
  const prompt = `tokens=${tokens} interval=5`;
  log(`latency: ${streams} streams x ${perStream} clients, ${tokens} tokens at 200/s`);

  const conversations = Array.from({ length: streams }, () => crypto.randomUUID());
  const dc = await openMany(streams * perStream, () => daemonClient(ctx));
  const groups = conversations.map((_, i) => dc.slice(i * perStream, (i + 1) * perStream));
  await Promise.all(groups.map((g, i) => subscribeDaemon(g, conversations[i]!)));
  const dbgD: { idx: number; at: number; lat: number }[] = [];
  const daemonLat = collectLatencies(dc, dbgD);
  const daemonCpu = cpuShare(ctx.daemon.pid);
  await deliveredPerSecond(
    dc,
    () =>
      groups.forEach((g, i) => {
        g[0]!.send({ type: "chat.send", conversationId: conversations[i]!, message: prompt });
      }),
    "daemon latency streams",
  );
  const daemonBusy = daemonCpu();
  await closeAll(dc);

  const bc = await openMany(streams * perStream, () => baselineClient(ctx));
  const bgroups = conversations.map((_, i) => bc.slice(i * perStream, (i + 1) * perStream));
  await Promise.all(bgroups.map((g, i) => subscribeBaseline(g, `relay-${conversations[i]}`)));
  const dbgB: { idx: number; at: number; lat: number }[] = [];
  const baseLat = collectLatencies(bc, dbgB);
  const baseCpu = cpuShare(ctx.baseline.pid);
  const body = { model: STAMPED_MODEL, stream: true, messages: [{ role: "user", content: prompt }] };
  await deliveredPerSecond(
    bc,
    () =>
      bgroups.forEach((g, i) => {
        g[0]!.send({
          op: "relay",
          topic: `relay-${conversations[i]}`,
          url: `${ctx.provider.url}/chat/completions`,
          body,
        });
      }),
    "baseline relay streams",
  );
  const baseBusy = baseCpu();
  await closeAll(bc);
  debugTail("daemon", dbgD);
  debugTail("bare", dbgB);
  const note = (p: string) =>
    `lower is better; ${p} over ${daemonLat.length} deltas (${streams} streams x ${perStream} clients x ${tokens} tokens, 200 tokens/s); baseline: bare relay of the same stream`;
  return [
    result("token latency p50", percentile(daemonLat, 50), "ms", percentile(baseLat, 50), note("p50")),
    result("token latency p99", percentile(daemonLat, 99), "ms", percentile(baseLat, 99), note("p99")),
    result("token latency max", Math.max(...daemonLat), "ms", Math.max(...baseLat), note("max")),
    result(
      "CPU while streaming (latency run)",
      daemonBusy,
      "% of a core",
      baseBusy,
      "lower is better; utime+stime / wall time of the run; baseline: the bare relay process during its run",
    ),
  ];
}

/** The next frame of `c` containing `marker`, parsed (for the baseline server's answers). */
function answer<T>(c: CountingClient, marker: string, what: string): Promise<T> {
  return withDeadline(
    new Promise<T>((resolve) => {
      const on = (e: MessageEvent) => {
        if (typeof e.data !== "string" || !e.data.includes(marker)) return;
        c.ws.removeEventListener("message", on);
        resolve(JSON.parse(e.data) as T);
      };
      c.ws.addEventListener("message", on);
    }),
    120_000,
    what,
  );
}

/**
 * Per-token cost: the loopback provider streams as fast as it can (interval 0) to one watcher, vs the
 * AI SDK's own `doStream` parsing the same stream (in the baseline process) and vs a bare relay of it
 * (raw fetch, hand split, one publish per delta). Then 16 watchers: tokens/s each vs one watcher, and
 * vs the bare relay to 16 clients (the ceiling of the bench's clients, which share the bench process
 * with the provider). Interleaved, median of 3 (1 quick).
 */
async function providerRate(ctx: Ctx): Promise<BenchResult[]> {
  const tokens = ctx.quick ? 4000 : 20_000;
  const reps = ctx.quick ? 1 : 3;
  const prompt = `tokens=${tokens} interval=0`;
  log(
    `provider stream of ${tokens} tokens at full speed: daemon (1 and 16 watchers), AI SDK doStream, bare relay`,
  );
  const daemonRate = async (watchers: number) => {
    const conversationId = crypto.randomUUID();
    const dc = await openMany(watchers, () => daemonClient(ctx));
    await subscribeDaemon(dc, conversationId);
    const d = await deliveredPerSecond(
      dc,
      () => dc[0]!.send({ type: "chat.send", conversationId, message: prompt }),
      `provider stream to ${watchers} watcher(s)`,
    );
    await closeAll(dc);
    return d.rate / watchers;
  };
  const sdkRate = async () => {
    const [c] = await openMany(1, () => baselineClient(ctx));
    const done = answer<{ tokens: number; ms: number }>(c!, '"sdk-done"', "the AI SDK doStream baseline");
    c!.send({ op: "sdk", baseUrl: ctx.provider.url, model: STAMPED_MODEL, prompt });
    const r = await done;
    await c!.close();
    return r.tokens / (r.ms / 1000);
  };
  const relayRate = async (watchers: number) => {
    const bc = await openMany(watchers, () => baselineClient(ctx));
    const topic = `rate-${crypto.randomUUID()}`;
    await subscribeBaseline(bc, topic);
    const body = { model: STAMPED_MODEL, stream: true, messages: [{ role: "user", content: prompt }] };
    const r = await deliveredPerSecond(
      bc,
      () => bc[0]!.send({ op: "relay", topic, url: `${ctx.provider.url}/chat/completions`, body }),
      `bare relay at full speed to ${watchers} watcher(s)`,
    );
    await closeAll(bc);
    return r.rate / watchers;
  };
  const one: number[] = [];
  const sixteen: number[] = [];
  const sdk: number[] = [];
  const relay: number[] = [];
  const relay16: number[] = [];
  for (let i = 0; i < reps; i++) {
    sdk.push(await sdkRate());
    one.push(await daemonRate(1));
    relay.push(await relayRate(1));
    sixteen.push(await daemonRate(16));
    relay16.push(await relayRate(16));
  }
  const of = `${tokens} tokens, median of ${reps}`;
  return [
    result(
      "provider stream, 1 watcher vs AI SDK doStream",
      median(one),
      "tokens/s",
      median(sdk),
      `higher is better; ${of}; baseline: the AI SDK's doStream parsing the same stream, no daemon (own process)`,
    ),
    result(
      "provider stream, 1 watcher vs bare relay",
      median(one),
      "tokens/s",
      median(relay),
      `higher is better; ${of}; baseline: raw fetch + hand-split SSE + one publish per delta, to 1 client`,
    ),
    result(
      "provider stream, 16 watchers vs 1",
      median(sixteen),
      "tokens/s",
      median(one),
      `higher is better; tokens/s each of 16 watchers of one conversation; ${of}; baseline: the same stream to 1 watcher`,
    ),
    result(
      "provider stream, 16 watchers vs bare relay to 16",
      median(sixteen),
      "tokens/s",
      median(relay16),
      `higher is better; ${of}; baseline: the bare relay to 16 clients, i.e. what the bench's 16 clients can take (the relay process is mostly idle)`,
    ),
  ];
}

/** Calls `start(0..n-1)` spread evenly over one second (conversations start at different moments). */
function staggered(n: number, start: (i: number) => void): void {
  for (let i = 0; i < n; i++) setTimeout(() => start(i), (i * 1000) / n);
}

/**
 * Many conversations: 200 streams at 50 tokens/s, 2 watchers each (20 000 deliveries/s), on a daemon
 * with the default slow-consumer cap; latency from the provider's stamp to receipt vs a bare relay of
 * the same 200 streams to the same 400 clients; 4008 closes counted; CPU of both. The streams start
 * over one second (a turn start every 5 ms), for the daemon and the relay alike.
 */
async function manyConversations(ctx: Ctx): Promise<BenchResult[]> {
  const streams = 200;
  const perStream = 2;
  const tokens = ctx.quick ? 50 : 200;
  const prompt = `tokens=${tokens} interval=20`;
  log(`many conversations: ${streams} streams x ${perStream} watchers, ${tokens} tokens at 50/s`);
  const daemon = await DaemonProcess.start({
    toml: `[log]\nlevel = "warn"\n`,
    env: {
      DISPATCH_BASE_URL: ctx.provider.url,
      DISPATCH_MODEL: STAMPED_MODEL,
      DISPATCH_API_KEY: "bench-key",
    },
    ...profiled(),
  });
  try {
    const conversations = Array.from({ length: streams }, () => crypto.randomUUID());
    const dc = await openMany(streams * perStream, () => CountingClient.open(daemon.wsUrl, daemon.token));
    const groups = conversations.map((_, i) => dc.slice(i * perStream, (i + 1) * perStream));
    await Promise.all(groups.map((g, i) => subscribeDaemon(g, conversations[i]!)));
    const dbgD: { idx: number; at: number; lat: number }[] = [];
    const daemonLat = collectLatencies(dc, dbgD);
    const daemonCpu = cpuShare(daemon.pid);
    await deliveredPerSecond(
      dc,
      () =>
        staggered(streams, (i) =>
          groups[i]![0]!.send({ type: "chat.send", conversationId: conversations[i]!, message: prompt }),
        ),
      "many daemon streams",
    );
    const daemonBusy = daemonCpu();
    const slow = dc.filter((c) => c.closeCode === 4008).length;
    await closeAll(dc);
    debugTail("many: daemon", dbgD);

    const bc = await openMany(streams * perStream, () => baselineClient(ctx));
    const bgroups = conversations.map((_, i) => bc.slice(i * perStream, (i + 1) * perStream));
    await Promise.all(bgroups.map((g, i) => subscribeBaseline(g, `many-${conversations[i]}`)));
    const baseLat = collectLatencies(bc);
    const baseCpu = cpuShare(ctx.baseline.pid);
    const body = { model: STAMPED_MODEL, stream: true, messages: [{ role: "user", content: prompt }] };
    await deliveredPerSecond(
      bc,
      () =>
        staggered(streams, (i) =>
          bgroups[i]![0]!.send({
            op: "relay",
            topic: `many-${conversations[i]}`,
            url: `${ctx.provider.url}/chat/completions`,
            body,
          }),
        ),
      "many bare relay streams",
    );
    const baseBusy = baseCpu();
    await closeAll(bc);
    const load = `${streams} streams x ${perStream} watchers x ${tokens} tokens at 50 tokens/s`;
    const p99 = percentile(daemonLat, 99);
    const baseP99 = percentile(baseLat, 99);
    return [
      result(
        "200 conversations: token latency p99",
        p99,
        "ms",
        baseP99,
        `lower is better; added ${(p99 - baseP99).toFixed(2)} ms; ${load}, ${daemonLat.length} deltas; default slow-consumer cap; baseline: bare relay of the same streams`,
      ),
      result(
        "200 conversations: token latency max",
        Math.max(...daemonLat),
        "ms",
        Math.max(...baseLat),
        `lower is better; ${load}; baseline: bare relay of the same streams`,
      ),
      result(
        "200 conversations: CPU",
        daemonBusy,
        "% of a core",
        baseBusy,
        `lower is better; utime+stime / wall time; ${load}; baseline: the bare relay process during its run`,
      ),
      result(
        "200 conversations: closed with 4008",
        slow,
        "connections",
        streams * perStream,
        `lower is better (0 expected); watchers closed as slow consumers, of all ${streams * perStream}`,
      ),
    ];
  } finally {
    await daemon.dispose();
  }
}

async function replay(ctx: Ctx): Promise<BenchResult[]> {
  const buffered = 10_000;
  log(`late-join replay of ${buffered} buffered events`);
  const conversationId = crypto.randomUUID();
  const [sender] = await openMany(1, () => daemonClient(ctx));
  await subscribeDaemon([sender!], conversationId);
  let sample = "";
  sender!.onDelta = (text) => {
    if (text.includes('"text-delta"')) sample = text;
  };
  sender!.send({ type: "chat.send", conversationId, message: `tokens=${buffered} interval=0 hold=1` });
  // user-message + turn-start + the deltas: the buffer holds the newest 10 000.
  await withDeadline(
    (async () => {
      while (sender!.deltas < buffered + 2) await Bun.sleep(5);
    })(),
    120_000,
    `${buffered} events streamed into the running turn`,
  );
  const runs = ctx.quick ? 2 : 5;
  const times: number[] = [];
  let replayed = 0;
  for (let i = 0; i < runs; i++) {
    const [joiner] = await openMany(1, () => daemonClient(ctx));
    const id = `join-${i}`;
    const started = performance.now();
    const acked = joiner!.marker(`"replyTo":"${id}"`, 60_000, "the late joiner's ack");
    joiner!.send({ type: "chat.subscribe", conversationId, id });
    await acked;
    times.push(performance.now() - started);
    replayed = joiner!.deltas;
    await joiner!.close();
  }
  ctx.provider.release();
  await sender!.sealedAt(1, 60_000, "the held turn sealed");
  await sender!.close();

  const frame = JSON.parse(sample) as object;
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [c] = await openMany(1, () => baselineClient(ctx));
    const started = performance.now();
    const done = c!.marker('"burst-done"', 60_000, "the baseline burst");
    c!.send({ op: "burst", frame, count: replayed });
    await done;
    base.push(performance.now() - started);
    await c!.close();
  }
  return [
    result(
      "late-join replay, 10k buffered",
      median(times),
      "ms",
      median(base),
      `lower is better; subscribe → ack after ${replayed} replayed frames, median of ${runs}; baseline: the same number of frames sent over a bare socket`,
    ),
  ];
}

async function memory(ctx: Ctx): Promise<BenchResult[]> {
  const conns = 1000;
  const cycles = ctx.quick ? 1000 : 10_000;
  await Bun.sleep(500);
  const idle = rssBytes(ctx.daemon.pid)!;
  const baseIdle = rssBytes(ctx.baseline.pid)!;
  log(`memory: ${conns} idle connections`);
  const dc = await openMany(conns, () => daemonClient(ctx));
  const bc = await openMany(conns, () => baselineClient(ctx));
  await Bun.sleep(1000);
  const perConn = ((rssBytes(ctx.daemon.pid) ?? 0) - idle) / conns;
  const basePerConn = ((rssBytes(ctx.baseline.pid) ?? 0) - baseIdle) / conns;
  await closeAll([...dc, ...bc]);
  await Bun.sleep(1000);

  log(`memory: ${cycles} connect/disconnect cycles`);
  const before = rssBytes(ctx.daemon.pid)!;
  for (let i = 0; i < cycles; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, cycles - i) }, () => daemonClient(ctx)),
    );
    await closeAll(batch);
  }
  await Bun.sleep(1000);
  const after = rssBytes(ctx.daemon.pid)!;
  return [
    result(
      "RSS idle",
      idle / MB,
      "MB",
      baseIdle / MB,
      "lower is better; fresh daemon, no connections; baseline: the bare Bun.serve process idle",
    ),
    result(
      "RSS per idle connection",
      perConn,
      "bytes",
      basePerConn,
      `lower is better; ${conns} connections, RSS delta / ${conns}; baseline: the same on the bare Bun.serve process`,
    ),
    result(
      `RSS after ${cycles} connect/disconnect`,
      after / MB,
      "MB",
      before / MB,
      "~1.00x is flat; baseline: the daemon's RSS before the cycles (100 at a time)",
    ),
  ];
}

async function idleCpu(ctx: Ctx): Promise<BenchResult[]> {
  const seconds = ctx.quick ? 3 : 10;
  log(`idle CPU over ${seconds} s with 100 idle connections`);
  const dc = await openMany(100, () => daemonClient(ctx));
  const bc = await openMany(100, () => baselineClient(ctx));
  await Bun.sleep(1000);
  const d0 = cpuMs(ctx.daemon.pid)!;
  const b0 = cpuMs(ctx.baseline.pid)!;
  await Bun.sleep(seconds * 1000);
  const d = (cpuMs(ctx.daemon.pid)! - d0) / seconds / 10;
  const measured = (cpuMs(ctx.baseline.pid)! - b0) / seconds / 10;
  await closeAll([...dc, ...bc]);
  // /proc counts CPU time in 10 ms ticks: a baseline that used less shows as one tick.
  const tick = 10 / seconds / 10;
  const floored = measured < tick;
  return [
    result(
      "idle CPU, 100 idle connections",
      d,
      "% of a core",
      floored ? tick : measured,
      `lower is better; ${seconds} s window, utime+stime from /proc; baseline: the bare Bun.serve with 100 idle connections in the same window${floored ? " (it used less than one 10 ms tick; shown as one tick)" : ""}`,
    ),
  ];
}

async function cliOpen(ctx: Ctx): Promise<BenchResult[]> {
  const runs = ctx.quick ? 3 : 7;
  log(`CLI open round trip x ${runs}`);
  const conversationId = crypto.randomUUID();
  const [c] = await openMany(1, () => daemonClient(ctx));
  await subscribeDaemon([c!], conversationId);
  c!.send({ type: "chat.send", conversationId, message: "open me", model: "local/echo" });
  await c!.sealedAt(1, 30_000, "the conversation to open");
  await c!.close();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("DISPATCH_")) env[k] = v;
  env.DISPATCH_HOME = ctx.daemon.home;
  env.NO_COLOR = "1";
  const cli = [process.execPath, join(REPO_ROOT, "apps/cli/src/main.ts"), "open", conversationId];
  const times: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push(await timeProcess(cli, env));
    base.push(await timeProcess(BUN_E0));
  }
  return [
    result(
      "CLI open round trip",
      median(times),
      "ms",
      median(base),
      `lower is better; \`bun apps/cli/src/main.ts open <id>\` against the running daemon, spawn to exit, median of ${runs}; baseline: \`bun -e 0\``,
    ),
  ];
}

async function coldStart(quick: boolean): Promise<BenchResult[]> {
  const runs = quick ? 3 : 7;
  log(`cold start x ${runs}`);
  const times: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    const d = await DaemonProcess.start({ toml: localModelToml(0) });
    times.push(d.readyMs);
    await d.dispose();
    base.push(await timeProcess(BUN_E0));
  }
  return [
    result(
      "cold start to daemon.json",
      median(times),
      "ms",
      median(base),
      `lower is better; spawn to a readable daemon.json (both ports listening), empty data folder, median of ${runs}; baseline: \`bun -e 0\` spawn to exit`,
    ),
  ];
}

async function windowRead(quick: boolean): Promise<BenchResult[]> {
  const total = 100_000;
  const reps = quick ? 20 : 100;
  log(`history window at ${total} chunks`);
  const home = await makeHome("dispatch-bench-");
  const store = openConversationStore({ path: join(home, "dispatch.db") });
  prefill(store, "big", total);
  prefill(store, "small", 200);
  store.close();
  const d = await DaemonProcess.start({ home, toml: localModelToml(0) });
  try {
    const time = async (id: string, query: { sinceSeq?: number; beforeSeq?: number; limit: number }) => {
      const samples: number[] = [];
      for (let i = 0; i < reps; i++) {
        const started = performance.now();
        const w = await d.http.readConversation(id, query);
        samples.push(performance.now() - started);
        if (w.chunks.length !== 200) throw new Error(`window of ${id} returned ${w.chunks.length} chunks`);
      }
      return median(samples);
    };
    const small = await time("small", { limit: 200 });
    const newest = await time("big", { limit: 200 });
    const middle = await time("big", { sinceSeq: total / 2, beforeSeq: total / 2 + 201, limit: 200 });
    const note = (which: string) =>
      `lower is better; GET /conversations/:id ${which} over HTTP, median of ${reps}; baseline: the newest 200 of a 200-chunk conversation`;
    return [
      result("window: newest 200 of 100k chunks", newest, "ms", small, note("?limit=200")),
      result("window: 200 in the middle of 100k", middle, "ms", small, note("?sinceSeq&beforeSeq&limit=200")),
    ];
  } finally {
    await d.dispose();
    await removeHome(home);
  }
}

/** Fills conversation `id` of an open store with `n` one-chunk messages, 1 000 per step. */
function prefill(store: ReturnType<typeof openConversationStore>, id: string, n: number): void {
  for (let i = 0; i < n; i += 1000) {
    const messages = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
      messageId: crypto.randomUUID(),
      role: (k % 2 === 0 ? "user" : "assistant") as "user" | "assistant",
      chunks: [{ type: "text" as const, text: `message ${i + k}: ${"lorem ipsum ".repeat(6)}` }],
    }));
    const r = store.appendStep(id, messages, {});
    if (!r.ok) throw new Error(`prefill ${id}: ${r.error.message}`);
  }
}

/**
 * History-independent steps: turns of `steps` tool steps (the offline model calling list_dir on an
 * empty folder) on a conversation of 100 000 stored chunks vs one of 100. Time to first token (send →
 * first text delta) and per-step time (send → turn-sealed, / steps), medians over the turns after the
 * first; the first turn of each (which reads the log once) is reported on its own.
 */
async function historySteps(quick: boolean): Promise<BenchResult[]> {
  const big = 100_000;
  const small = 100;
  const turns = quick ? 3 : 6;
  const steps = 5;
  log(`history-independent steps: ${turns} turns x ${steps + 1} steps at ${big} vs ${small} chunks`);
  const home = await makeHome("dispatch-bench-");
  const store = openConversationStore({ path: join(home, "dispatch.db") });
  prefill(store, "big", big);
  prefill(store, "small", small);
  store.close();
  const cwd = join(home, "empty");
  await Bun.write(join(cwd, "a.txt"), "a");
  // A context window no history here reaches: no automatic compaction shortens the big one.
  const d = await DaemonProcess.start({
    home,
    toml: localModelToml(0, "contextWindow = 1000000000000\n"),
    ...profiled(),
  });
  try {
    const run = async (conversationId: string) => {
      const [c] = await openMany(1, () => CountingClient.open(d.wsUrl, d.token));
      await subscribeDaemon([c!], conversationId);
      const ttft: number[] = [];
      const perStep: number[] = [];
      for (let t = 0; t < turns; t++) {
        let first: number | undefined;
        c!.onDelta = (text) => {
          if (first === undefined && text.includes('"text-delta"')) first = performance.now();
        };
        const started = performance.now();
        c!.send({
          type: "chat.send",
          conversationId,
          message: `turn ${t}\n/steps ${steps} list_dir {"path":"."}`,
          model: "local/echo",
          cwd,
          grant: { all: true },
        });
        await c!.sealedAt(t + 1, 120_000, `turn ${t} of ${conversationId} sealed`);
        const ended = performance.now();
        ttft.push((first ?? ended) - started);
        perStep.push((ended - started) / (steps + 1));
      }
      await c!.close();
      return { ttft, perStep };
    };
    const s = await run("small");
    const b = await run("big");
    const later = (v: number[]) => median(v.slice(1));
    const note = (what: string) =>
      `lower is better; ${what}, median of turns 2–${turns} (${steps} list_dir steps + answer, offline model); baseline: the same on a ${small}-chunk conversation`;
    return [
      result(
        "time to first token at 100k chunks",
        later(b.ttft),
        "ms",
        later(s.ttft),
        note("chat.send → first text delta"),
      ),
      result(
        "per-step time at 100k chunks",
        later(b.perStep),
        "ms",
        later(s.perStep),
        note("send → turn-sealed / steps"),
      ),
      result(
        "first turn's first token at 100k chunks",
        b.ttft[0]!,
        "ms",
        s.ttft[0]!,
        `lower is better; the first turn after start reads the whole log once (then the turn holds it); baseline: the same on a ${small}-chunk conversation`,
      ),
    ];
  } finally {
    await d.dispose();
    await removeHome(home);
  }
}

/**
 * DISPATCH_BENCH_PROFILE=<dir>: the daemons of the streaming stages write a CPU profile there on exit
 * (`.cpuprofile` and the `.md` summary; count samples, not time deltas: idle gaps are not samples).
 */
function profiled(): { bunArgs?: string[] } {
  const dir = process.env.DISPATCH_BENCH_PROFILE;
  return dir ? { bunArgs: ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`] } : {};
}

/** DISPATCH_BENCH_STAGES=fanout,latency runs only those stages (default: all). */
function wanted(stage: string): boolean {
  const only = process.env.DISPATCH_BENCH_STAGES?.split(",").map((s) => s.trim());
  return !only || only.includes(stage);
}

export async function benchDaemon(opts: BenchOptions): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const provider = startStampedProvider();
  const baseline = await BaselineServer.start();
  const daemon = await DaemonProcess.start({
    toml: BENCH_TOML,
    env: { DISPATCH_BASE_URL: provider.url, DISPATCH_MODEL: STAMPED_MODEL, DISPATCH_API_KEY: "bench-key" },
    ...profiled(),
  });
  const ctx: Ctx = { quick: opts.quick, daemon, baseline, provider };
  // Quiet figures first, on a fresh daemon; the fan-out floods (and grows the heap) last.
  try {
    const stages = { memory, idleCpu, latency, providerRate, manyConversations, replay, cliOpen, fanout };
    for (const [name, stage] of Object.entries(stages)) if (wanted(name)) rows.push(...(await stage(ctx)));
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${daemon.output()}`);
  } finally {
    await daemon.dispose();
    await baseline.stop();
    await provider.close();
  }
  if (wanted("windowRead")) rows.push(...(await windowRead(opts.quick)));
  if (wanted("historySteps")) rows.push(...(await historySteps(opts.quick)));
  if (wanted("coldStart")) rows.push(...(await coldStart(opts.quick)));
  return rows;
}

if (import.meta.main) {
  const rows = await benchDaemon({ quick: process.argv.includes("--quick") });
  process.stderr.write(`${JSON.stringify(rows, null, 2)}\n`);
}
