/**
 * Relays (issue 19): one shared conversation, watched by N share viewers on one `dispatch relay`
 * (daemon → Redis → relay → viewer) and, in the same run and the same turn, by N share viewers
 * connected to the daemon itself (its direct fan-out: the baseline). A real daemon, relay and
 * redis-server as subprocesses; the viewers are WebSockets in this process that only count frames,
 * except a sample on each side that stamps the arrival of every event.
 *
 * The model is a loopback OpenAI-compatible server that stamps each token with the moment it wrote it.
 * Figures: time from the turn's first event (at the owner) to the last viewer's `turn-sealed`, and
 * deliveries/s, relay vs direct; token latency provider → viewer through the relay against the same
 * for a direct viewer (p50/p99 over sampled viewers and tokens); the added latency per event, every
 * event stamped at receive and matched by (turnId, n) between relay viewer k and direct viewer k,
 * against the skew between two direct viewers (the harness's floor); both processes' RSS, the relay's
 * CPU and memory per viewer; the bench process's own CPU per frame (is the harness the bottleneck?).
 * Full: 1 000 viewers a side; quick: 100.
 */
import { log, percentile, withDeadline } from "../tests/support/bench-kit";
import { DaemonProcess } from "../tests/support/daemon";
import { haveRedis, TEST_REDIS_ENV, testRedis, uniquePrefix } from "../tests/support/deps";
import { cpuMs, rssBytes } from "../tests/support/proc";
import { startRelayProc } from "../tests/support/relay";
import { STAMPED_MODEL, stampNow, stampOf, startStampedProvider } from "../tests/support/stamped-provider";
import { type BenchOptions, type BenchResult, result } from "./types";

/** A share viewer: counts chat.delta frames; a sampled one stamps each event's arrival by its n. */
class Viewer {
  deltas = 0;
  sealed = false;
  closeCode: number | undefined;
  /** Provider stamp → arrival here, per text delta (sampled viewers only). */
  readonly latencies: number[] = [];
  /** Arrival here of every event, by `turnId:n` (sampled viewers only). */
  readonly arrivals = new Map<string, number>();
  private onSealed: (() => void) | undefined;
  private constructor(
    readonly ws: WebSocket,
    readonly sampled: boolean,
  ) {
    ws.onclose = (e) => {
      this.closeCode = e.code;
    };
  }

  static async open(url: string, secret: string, conversationId: string, sampled: boolean): Promise<Viewer> {
    const ws = new WebSocket(url, [`dispatch.share.${secret}`]);
    const v = new Viewer(ws, sampled);
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
        ws.onmessage = (e) => {
          const text = String(e.data);
          if (text.includes('"replyTo":"s"')) {
            ws.onmessage = (m) => v.frame(String(m.data));
            resolve();
          }
        };
        ws.onopen = () => ws.send(JSON.stringify({ type: "chat.subscribe", conversationId, id: "s" }));
      }),
      30_000,
      `a viewer's subscription at ${url}`,
    );
    return v;
  }

  private frame(text: string): void {
    if (!text.startsWith('{"type":"chat.delta"')) return;
    this.deltas++;
    if (this.sampled) {
      const at = stampNow();
      const f = JSON.parse(text) as { n?: number; event: { turnId?: string; type?: string; delta?: string } };
      if (f.n !== undefined && !this.arrivals.has(`${f.event.turnId}:${f.n}`))
        this.arrivals.set(`${f.event.turnId}:${f.n}`, at);
      const stamp = f.event.type === "text-delta" ? stampOf(f.event.delta ?? "") : undefined;
      if (stamp !== undefined) this.latencies.push(at - stamp);
    }
    if (text.includes('"turn-sealed"')) {
      this.sealed = true;
      this.onSealed?.();
    }
  }

  whenSealed(): Promise<void> {
    return this.sealed ? Promise.resolve() : new Promise((resolve) => (this.onSealed = resolve));
  }
}

async function openAll(n: number, open: (i: number) => Promise<Viewer>): Promise<Viewer[]> {
  const out: Viewer[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) => open(i + k));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** The owner: sends turns and notes the events of the turn it watches. */
class Owner {
  readonly arrivals = new Map<number, number>();
  private waiters: { pred: (t: string) => boolean; resolve: () => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const text = String(e.data);
      if (text.startsWith('{"type":"chat.delta"')) {
        const n = /"n":(\d+)/.exec(text);
        if (n && !this.arrivals.has(Number(n[1]))) this.arrivals.set(Number(n[1]), performance.now());
      }
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(text)) return true;
        w.resolve();
        return false;
      });
    };
  }
  static async open(url: string, token: string): Promise<Owner> {
    const ws = new WebSocket(url, [`dispatch.token.${token}`]);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    return new Owner(ws);
  }
  until(pred: (t: string) => boolean, what: string, ms = 60_000): Promise<void> {
    return withDeadline(new Promise<void>((resolve) => this.waiters.push({ pred, resolve })), ms, what);
  }
  /** Sends `message` as a turn of `conversationId` and resolves when it is sealed. */
  async turn(conversationId: string, message: string): Promise<void> {
    this.arrivals.clear();
    const sealed = this.until((t) => t.includes('"turn-sealed"'), "the turn's seal at the owner");
    this.ws.send(JSON.stringify({ type: "chat.send", conversationId, message, id: "m" }));
    await sealed;
  }
}

/**
 * Pure: per event matched by `turnId:n`, arrival at `a` minus arrival at `b`, for each pair of
 * sampled viewers (a[k], b[k]); `abs` takes the magnitude (two viewers of the same path: the skew).
 */
function pairedDelays(a: Viewer[], b: Viewer[], abs = false): number[] {
  const out: number[] = [];
  for (let k = 0; k < Math.min(a.length, b.length); k++) {
    const y = (b[k] as Viewer).arrivals;
    for (const [key, at] of (a[k] as Viewer).arrivals) {
      const other = y.get(key);
      if (other === undefined) continue;
      out.push(abs ? Math.abs(at - other) : at - other);
    }
  }
  return out;
}

export async function benchRelay(opts: BenchOptions): Promise<BenchResult[]> {
  if (!haveRedis && process.env[TEST_REDIS_ENV] === undefined) {
    log(
      "relay: skipped (no redis-server on PATH and no DISPATCH_TEST_REDIS_URL; apt-get install redis-server)",
    );
    return [];
  }
  const viewers = opts.quick ? 100 : 1000;
  const tokens = opts.quick ? 150 : 200;
  // tokens/s. 2 × 1 000 viewers at 50/s are 100 000 deliveries/s through this one 2-core machine (the
  // viewers' own process included): near what it can take, so the latency stays meaningful.
  const rate = opts.quick ? 100 : 50;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  const all: Viewer[] = [];
  try {
    const redis = await testRedis();
    cleanup.push(() => redis.stop());
    const prefix = uniquePrefix("bench-relay");
    const provider = startStampedProvider();
    cleanup.push(() => provider.close());
    const daemon = await DaemonProcess.start({
      toml: `[log]\nlevel = "warn"\n\n[relay]\nredis = "${redis.url}"\nprefix = "${prefix}"\n`,
      env: { DISPATCH_BASE_URL: provider.url, DISPATCH_MODEL: STAMPED_MODEL, DISPATCH_API_KEY: "bench-key" },
    });
    cleanup.push(() => daemon.dispose());
    const C = crypto.randomUUID();
    const owner = await Owner.open(daemon.wsUrl, daemon.token);
    cleanup.push(() => owner.ws.close());
    owner.ws.send(JSON.stringify({ type: "chat.subscribe", conversationId: C }));
    await owner.turn(C, "tokens=5 interval=0");
    const res = await fetch(`${daemon.httpUrl}/conversations/${C}/shares`, {
      method: "POST",
      headers: { authorization: `Bearer ${daemon.token}`, "content-type": "application/json" },
      body: "{}",
    });
    if (res.status !== 201) throw new Error(`share: HTTP ${res.status} ${await res.text()}`);
    const { secret } = (await res.json()) as { secret: string };
    // Every viewer comes from 127.0.0.1: the relay's per-address cap must hold them all.
    const relay = await startRelayProc(redis.url, prefix, [
      "--connections-per-address",
      String(viewers + 100),
    ]);
    cleanup.push(async () => {
      relay.proc.kill("SIGKILL");
      await relay.proc.exited;
    });
    const relayUrl = `ws://127.0.0.1:${relay.port}`;
    const relayRssBefore = rssBytes(relay.proc.pid) ?? 0;
    const daemonRssBefore = rssBytes(daemon.pid) ?? 0;
    const sampleEvery = Math.max(1, Math.floor(viewers / 20));
    log(`relay: ${viewers} viewers on the relay, ${viewers} on the daemon`);
    const onRelay = await openAll(viewers, (i) => Viewer.open(relayUrl, secret, C, i % sampleEvery === 0));
    all.push(...onRelay);
    const direct = await openAll(viewers, (i) => Viewer.open(daemon.wsUrl, secret, C, i % sampleEvery === 0));
    all.push(...direct);
    await Bun.sleep(300);
    const relayRss = rssBytes(relay.proc.pid) ?? 0;
    const daemonRss = rssBytes(daemon.pid) ?? 0;

    const relayCpu0 = cpuMs(relay.proc.pid) ?? 0;
    const daemonCpu0 = cpuMs(daemon.pid) ?? 0;
    const benchCpu0 = process.cpuUsage();
    const sealedRelay = Promise.all(onRelay.map((v) => v.whenSealed())).then(() => performance.now());
    const sealedDirect = Promise.all(direct.map((v) => v.whenSealed())).then(() => performance.now());
    await owner.turn(C, `tokens=${tokens} interval=${1000 / rate}`);
    const [tRelay, tDirect] = await withDeadline(
      Promise.all([sealedRelay, sealedDirect]),
      60_000,
      "every viewer's turn-sealed",
    );
    const relayCpu = (cpuMs(relay.proc.pid) ?? 0) - relayCpu0;
    const daemonCpu = (cpuMs(daemon.pid) ?? 0) - daemonCpu0;
    const benchCpuUs = process.cpuUsage(benchCpu0);
    const benchCpu = (benchCpuUs.user + benchCpuUs.system) / 1000;
    const relayRssAfter = rssBytes(relay.proc.pid) ?? 0;
    const daemonRssAfter = rssBytes(daemon.pid) ?? 0;
    const first = Math.min(...owner.arrivals.values());
    const events = owner.arrivals.size;
    const closed = all.filter((v) => v.closeCode !== undefined).length;
    if (closed > 0) log(`relay: ${closed} viewers were closed during the turn`);
    const deliveries = (side: Viewer[]) => side.reduce((s, v) => s + v.deltas, 0);
    const spanRelay = tRelay - first;
    const spanDirect = tDirect - first;
    const latRelay = onRelay.flatMap((v) => v.latencies);
    const latDirect = direct.flatMap((v) => v.latencies);
    const sRelay = onRelay.filter((v) => v.sampled);
    const sDirect = direct.filter((v) => v.sampled);
    const added = pairedDelays(sRelay, sDirect);
    const skew = pairedDelays(sDirect, [...sDirect.slice(1), ...sDirect.slice(0, 1)], true);
    const note = `${viewers} share viewers a side, one turn of ${events} events at ${rate} tokens/s; baseline: the daemon's own viewers of the same turn`;
    const pairedNote = `every event of the turn, matched by (turnId, n), arrival at relay viewer k − at direct viewer k (${sRelay.length} pairs, ${added.length} matched events); baseline: the same between two direct viewers (|skew|, the harness's floor)`;
    return [
      result(
        `${viewers} viewers: first event to the last viewer's seal`,
        spanRelay,
        "ms",
        spanDirect,
        `${note}; lower is better`,
      ),
      result(
        `${viewers} viewers: deliveries/s`,
        (deliveries(onRelay) * 1000) / spanRelay,
        "msg/s",
        (deliveries(direct) * 1000) / spanDirect,
        `${note}; higher is better (both paced by the model)`,
      ),
      result(
        "token latency via the relay, p50",
        percentile(latRelay, 50),
        "ms",
        percentile(latDirect, 50),
        "provider token → sampled viewer: provider → daemon → Redis → relay → viewer vs provider → daemon → viewer",
      ),
      result(
        "token latency via the relay, p99",
        percentile(latRelay, 99),
        "ms",
        percentile(latDirect, 99),
        "provider token → sampled viewer: provider → daemon → Redis → relay → viewer vs provider → daemon → viewer",
      ),
      result("added latency per event, p50", percentile(added, 50), "ms", percentile(skew, 50), pairedNote),
      result("added latency per event, p99", percentile(added, 99), "ms", percentile(skew, 99), pairedNote),
      result(
        `RSS with ${viewers} viewers, after the turn`,
        relayRssAfter / 2 ** 20,
        "MiB",
        daemonRssAfter / 2 ** 20,
        `the relay process vs the daemon process (which also holds the store and ran the turn); before the viewers: ${(relayRssBefore / 2 ** 20).toFixed(1)} vs ${(daemonRssBefore / 2 ** 20).toFixed(1)} MiB`,
      ),
      result(
        "memory per viewer",
        (relayRss - relayRssBefore) / viewers / 1024,
        "KiB",
        (daemonRss - daemonRssBefore) / viewers / 1024,
        "RSS growth with the viewers connected (before the turn): the relay vs the daemon",
      ),
      result(
        "CPU per 1 000 deliveries",
        (relayCpu * 1000) / Math.max(1, deliveries(onRelay)),
        "ms",
        (daemonCpu * 1000) / Math.max(1, deliveries(direct)),
        "relay process vs daemon process during the turn (the daemon's also runs the turn, persists and publishes to Redis)",
      ),
      result(
        "harness: viewers' CPU per 1 000 frames received",
        (benchCpu * 1000) / Math.max(1, deliveries(onRelay) + deliveries(direct)),
        "ms",
        (relayCpu * 1000) / Math.max(1, deliveries(onRelay)),
        "the bench process (all viewers of both sides, the owner, the model) vs the relay's CPU per delivery: how much of the 2 cores the harness itself takes",
      ),
    ];
  } finally {
    for (const v of all) v.ws.close();
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (e) {
        log(`relay: cleanup: ${String(e)}`);
      }
    }
  }
}
