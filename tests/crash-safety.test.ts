/**
 * Crash safety of the real daemon: SIGKILL at random points while several conversations stream turns
 * back to back, restart on the same data folder, and check after every restart that
 * - every conversation's log is gap-free (seq 1..N, read through small HTTP windows) and each message is
 *   one contiguous run;
 * - what a client saw as committed is there, unchanged: every acknowledged `chat.send` has its user
 *   message exactly once, and every turn the client saw sealed has its full answer right after it;
 *   chunks read after an earlier restart are still there with the same seq and content;
 * - interrupted turns are reconciled: the conversation is idle and takes a new turn.
 *
 * Kill points come from a seeded PRNG (DISPATCH_CRASH_SEED to replay), printed on failure.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DaemonProcess, localModelToml, makeHome, removeHome } from "./support/daemon";
import type { StoredChunk } from "./support/deps";
import { chunkText, logProblems, readAllChunks, TurnRecorder, turnProblems } from "./support/turns";
import { seededRandom, seedFrom, WAIT_MS } from "./support/wait";
import { WsProbe } from "./support/ws-client";

const SEED = seedFrom("DISPATCH_CRASH_SEED", 7_340_033);
const ROUNDS = 4;
const CONVERSATIONS = 3;
/** A few ms per token and ~150 tokens: a turn streams for a fraction of a second. */
const TOML = localModelToml(2);

interface Committed {
  /** Unique user text of every acknowledged chat.send, in order. */
  acked: string[];
  /** Turns the client saw sealed: user text → full answer text. */
  sealed: Map<string, string>;
  /** The log as read after the previous restart. */
  snapshot: StoredChunk[];
}

let home: string;
let daemon: DaemonProcess | undefined;
const random = seededRandom(SEED);
const conversations = Array.from({ length: CONVERSATIONS }, () => crypto.randomUUID());
const committed = new Map<string, Committed>(
  conversations.map((id) => [id, { acked: [], sealed: new Map(), snapshot: [] }]),
);

beforeAll(async () => {
  home = await makeHome("dispatch-crash-");
});

afterAll(async () => {
  await daemon?.dispose();
  await removeHome(home);
});

function sealedCount(recorder: TurnRecorder, conversationId: string): number {
  return (recorder.byConversation.get(conversationId) ?? []).filter((t) => recorder.sealed.has(t)).length;
}

/** Runs turns back to back on one conversation until the connection drops. */
async function drive(probe: WsProbe, recorder: TurnRecorder, conversationId: string, round: number) {
  const c = committed.get(conversationId)!;
  for (let turn = 1; ; turn++) {
    const text = `r${round} t${turn} ${conversationId.slice(0, 8)}\n/long 150`;
    let answer: Awaited<ReturnType<WsProbe["request"]>>;
    try {
      answer = await probe.request({ type: "chat.send", conversationId, message: text }, 30_000);
    } catch {
      return; // killed
    }
    if (answer.type !== "ack")
      throw new Error(`round ${round}: chat.send answered ${JSON.stringify(answer)}`);
    c.acked.push(text);
    const sealedBefore = sealedCount(recorder, conversationId);
    try {
      await probe.until(
        () => sealedCount(recorder, conversationId) > sealedBefore,
        30_000,
        `a turn of ${conversationId} sealed`,
      );
    } catch {
      return;
    }
  }
}

/** Every problem with the conversations' logs after a restart; refreshes the snapshots. */
async function verify(d: DaemonProcess, when: string): Promise<string[]> {
  const problems: string[] = [];
  for (const id of conversations) {
    const c = committed.get(id)!;
    const chunks = await readAllChunks(d.http, id, 7);
    const whole = await d.http.readConversation(id, { limit: 10_000 });
    if (JSON.stringify(whole.chunks) !== JSON.stringify(chunks))
      problems.push(`${id}: paging through windows differs from one big window`);
    problems.push(...logProblems(id, chunks));
    c.snapshot.forEach((old, i) => {
      if (JSON.stringify(chunks[i]) !== JSON.stringify(old))
        problems.push(`${id}: seq ${old.seq} changed or vanished: ${JSON.stringify(old).slice(0, 160)}`);
    });
    const userTexts = chunks.filter((ch) => ch.role === "user").map(chunkText);
    for (const text of c.acked) {
      const n = userTexts.filter((t) => t === text).length;
      if (n !== 1) problems.push(`${id}: acknowledged message ${JSON.stringify(text)} stored ${n} times`);
    }
    for (const [text, answer] of c.sealed) {
      const at = chunks.findIndex((ch) => ch.role === "user" && chunkText(ch) === text);
      const next = chunks[at + 1];
      if (at < 0 || next?.role !== "assistant" || chunkText(next) !== answer)
        problems.push(`${id}: sealed turn ${JSON.stringify(text)} lost its answer`);
    }
    const status = await d.http.status(id);
    if (status.isActive || status.status !== "idle")
      problems.push(`${id}: ${when}: status ${JSON.stringify(status)}, want idle`);
    c.snapshot = chunks;
  }
  return problems.map((p) => `${when}: ${p}`);
}

test(`SIGKILL during streaming turns, ${ROUNDS} times: logs gap-free, nothing committed lost, turns reconciled`, async () => {
  const kills: number[] = [];
  const fail = (problems: string[], d: DaemonProcess) => {
    if (problems.length === 0) return;
    throw new Error(
      `crash seed ${SEED} (replay with DISPATCH_CRASH_SEED=${SEED}), kill delays ${kills.join(", ")} ms\n` +
        `${problems.join("\n")}\n${d.output()}`,
    );
  };
  for (let round = 1; round <= ROUNDS; round++) {
    daemon = await DaemonProcess.start({ home, toml: TOML });
    if (round > 1) fail(await verify(daemon, `after kill ${round - 1}`), daemon);
    const probe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: `round${round}`, record: true });
    const recorder = new TurnRecorder();
    probe.onFrame((f) => recorder.feed(f));
    recorder.onSealed((conversationId, turnId) => {
      const user = recorder.userText(turnId);
      if (user !== undefined) committed.get(conversationId)?.sealed.set(user, recorder.text(turnId));
    });
    const drivers = conversations.map((id) => drive(probe, recorder, id, round));
    // Kill once every conversation has sealed at least one turn plus a random extra delay.
    await probe.until(
      () => conversations.every((id) => sealedCount(recorder, id) > 0),
      WAIT_MS * 2,
      "one sealed turn in every conversation",
    );
    const delay = Math.floor(50 + random() * 600);
    kills.push(delay);
    await Bun.sleep(delay);
    await daemon.kill();
    await Promise.all(drivers);
    const problems: string[] = [...recorder.late];
    for (const turnId of recorder.sealed) problems.push(...turnProblems(turnId, recorder.turns.get(turnId)!));
    fail(problems, daemon);
  }

  // The last restart: verify, then every conversation takes a complete new turn.
  daemon = await DaemonProcess.start({ home, toml: TOML });
  fail(await verify(daemon, `after kill ${ROUNDS}`), daemon);
  const probe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "final" });
  const recorder = new TurnRecorder();
  probe.onFrame((f) => recorder.feed(f));
  for (const id of conversations) {
    const text = `final ${id.slice(0, 8)}`;
    const answer = await probe.request({ type: "chat.send", conversationId: id, message: text });
    expect(answer.type).toBe("ack");
    committed.get(id)!.acked.push(text);
    const sealed = await probe.waitFor(
      (f) => f.type === "chat.delta" && f.event.type === "turn-sealed" && f.event.conversationId === id,
      WAIT_MS,
      `the final turn of ${id} sealed`,
    );
    if (sealed.type !== "chat.delta" || sealed.event.type !== "turn-sealed") throw new Error("unreachable");
    const events = recorder.turns.get(sealed.event.turnId)!;
    fail(turnProblems(sealed.event.turnId, events), daemon);
    committed.get(id)!.sealed.set(text, recorder.text(sealed.event.turnId));
  }
  probe.close();
  fail(await verify(daemon, "after the final turns"), daemon);
  const sealedTotal = [...committed.values()].reduce((n, c) => n + c.sealed.size, 0);
  expect(sealedTotal).toBeGreaterThanOrEqual(CONVERSATIONS * (ROUNDS + 1));
}, 150_000);
