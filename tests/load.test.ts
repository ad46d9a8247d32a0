/**
 * Load on the real daemon: 200 WebSocket connections and 20 conversations streaming turns back to back
 * for DISPATCH_LOAD_SECONDS (default 30 — the one long test of the suite). Each conversation has a
 * driver connection that sends its turns; the other 180 connections each watch two conversations,
 * joining at staggered moments during the first seconds (so some join mid-turn and get the replay).
 *
 * Every connection checks, for every conversation it watched, that each turn it saw is complete and in
 * order (n = 1..k, user-message first, done then turn-sealed last, nothing after the seal), that it saw
 * every turn the driver ran from the first one it joined, and that the text matches the driver's.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DaemonProcess, localModelToml } from "./support/daemon";
import { rssBytes } from "./support/proc";
import { TurnRecorder } from "./support/turns";
import { seededRandom, seedFrom, WAIT_MS } from "./support/wait";
import { WsProbe } from "./support/ws-client";

const SECONDS = Number(process.env.DISPATCH_LOAD_SECONDS ?? 30);
const CONNECTIONS = 200;
const CONVERSATIONS = 20;
const WATCHED_EACH = 2;
const SEED = seedFrom("DISPATCH_LOAD_SEED", 99_991);
/** ~50 tokens/s per conversation: 1 000 events/s published, ~19 000 frames/s delivered. */
const TOML = localModelToml(20);

let daemon: DaemonProcess;
const probes: WsProbe[] = [];

beforeAll(async () => {
  daemon = await DaemonProcess.start({ toml: TOML });
});

afterAll(async () => {
  for (const p of probes) p.close();
  await daemon?.dispose();
});

interface Client {
  probe: WsProbe;
  recorder: TurnRecorder;
  watches: string[];
}

async function client(label: string, watches: string[]): Promise<Client> {
  const probe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label, record: false });
  probes.push(probe);
  const recorder = new TurnRecorder({ keepEvents: false });
  probe.onFrame((f) => recorder.feed(f));
  return { probe, recorder, watches };
}

test(
  `${CONNECTIONS} connections, ${CONVERSATIONS} conversations streaming for ${SECONDS} s: every watcher sees every turn complete and in order`,
  async () => {
    const random = seededRandom(SEED);
    const conversations = Array.from({ length: CONVERSATIONS }, () => crypto.randomUUID());
    const drivers = await Promise.all(conversations.map((id, i) => client(`driver${i}`, [id])));
    const watchers: Client[] = [];
    for (let i = 0; i < CONNECTIONS - CONVERSATIONS; i++) {
      const a = (i * WATCHED_EACH) % CONVERSATIONS;
      const watches = Array.from({ length: WATCHED_EACH }, (_, k) => conversations[(a + k) % CONVERSATIONS]!);
      watchers.push(await client(`watcher${i}`, watches));
    }
    // Half the watchers subscribe before anything starts, the rest at random moments in the first seconds.
    const early = watchers.filter((_, i) => i % 2 === 0);
    const late = watchers.filter((_, i) => i % 2 === 1);
    const subscribe = async (w: Client) => {
      for (const id of w.watches) {
        const answer = await w.probe.request({ type: "chat.subscribe", conversationId: id }, 30_000);
        if (answer.type !== "ack")
          throw new Error(`${w.probe.label}: subscribe answered ${JSON.stringify(answer)}`);
      }
    };
    await Promise.all(early.map(subscribe));

    const deadline = performance.now() + SECONDS * 1000;
    const driverErrors: string[] = [];
    const runs = drivers.map(async (d, i) => {
      const conversationId = d.watches[0]!;
      for (let turn = 1; performance.now() < deadline; turn++) {
        const answer = await d.probe.request(
          { type: "chat.send", conversationId, message: `load c${i} t${turn}\n/long 40` },
          30_000,
        );
        if (answer.type !== "ack") {
          driverErrors.push(`driver${i}: chat.send answered ${JSON.stringify(answer)}`);
          return;
        }
        await d.probe.until(() => d.recorder.sealed.size >= turn, 60_000, `driver${i}: turn ${turn} sealed`);
      }
    });
    const lateJoins = late.map(async (w) => {
      await Bun.sleep(random() * Math.min(5000, SECONDS * 500));
      await subscribe(w);
    });
    await Promise.all([...runs, ...lateJoins]);
    expect(driverErrors).toEqual([]);

    // Every watcher must reach the last turn of each conversation it watches.
    const lastTurn = new Map(
      drivers.map((d) => [d.watches[0]!, d.recorder.byConversation.get(d.watches[0]!)!.at(-1)!]),
    );
    await Promise.all(
      watchers.map((w) =>
        w.probe.until(
          () => w.watches.every((id) => w.recorder.sealed.has(lastTurn.get(id)!)),
          WAIT_MS * 2,
          `${w.probe.label}: the last turn of ${w.watches.join(", ")} sealed`,
        ),
      ),
    );

    const problems: string[] = [];
    let turnsChecked = 0;
    const driverOf = new Map(drivers.map((d) => [d.watches[0]!, d]));
    for (const c of [...drivers, ...watchers]) {
      problems.push(...c.recorder.late.map((p) => `${c.probe.label}: ${p}`));
      if (!c.probe.isOpen) problems.push(`${c.probe.label}: closed ${JSON.stringify(c.probe.closeEvent)}`);
      for (const id of c.watches) {
        const d = driverOf.get(id)!;
        const all = d.recorder.byConversation.get(id) ?? [];
        const seen = c.recorder.byConversation.get(id) ?? [];
        const from = all.indexOf(seen[0] ?? "");
        if (from < 0 || JSON.stringify(all.slice(from)) !== JSON.stringify(seen))
          problems.push(
            `${c.probe.label}: saw turns ${seen.length} of ${id}, driver ran ${all.length} (from #${from})`,
          );
        for (const turnId of seen) {
          const mine = c.recorder.summaries.get(turnId);
          const theirs = d.recorder.summaries.get(turnId);
          turnsChecked++;
          if (!mine) problems.push(`${c.probe.label}: turn ${turnId} not sealed`);
          else problems.push(...mine.problems.map((p) => `${c.probe.label}: ${p}`));
          if (mine && theirs && mine.text !== theirs.text)
            problems.push(`${c.probe.label}: turn ${turnId} text differs from the driver's`);
        }
      }
      if (problems.length > 30) break;
    }
    const rss = rssBytes(daemon.pid);
    if (problems.length > 0)
      throw new Error(`load seed ${SEED}: ${problems.slice(0, 30).join("\n")}\n${daemon.output()}`);
    const turns = drivers.reduce((n, d) => n + d.recorder.sealed.size, 0);
    expect(turns).toBeGreaterThanOrEqual(CONVERSATIONS);
    expect(turnsChecked).toBeGreaterThan(turns);
    expect(daemon.alive).toBe(true);
    console.error(
      `load: ${turns} turns in ${SECONDS} s, ${turnsChecked} turn views checked, daemon RSS ${((rss ?? 0) / 2 ** 20).toFixed(0)} MB`,
    );
  },
  (SECONDS + 120) * 1000,
);
