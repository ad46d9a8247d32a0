/**
 * Slow consumers against the real daemon: connections that subscribe to a conversation and then stop
 * reading (a paused socket: the daemon sees TCP backpressure) while the offline model streams 100 000
 * tokens. They must be closed at the cap (4008, or dropped), the daemon's memory must not grow with what
 * they failed to read, and the clients that do read must get every event in order.
 *
 * The stream is paced (`/rate`): unpaced, the daemon produces events faster than a JS client in this
 * process can parse them, so the *readers* would rightly be slow consumers too. At RATE tokens/s the
 * readers keep up with room to spare on a busy machine, and the stream (~18 MB, about 100 000 / RATE
 * seconds) still dwarfs the cap plus the few MB of kernel socket buffers each paused socket absorbs.
 *
 * Memory is compared with a control turn in the same daemon without slow consumers: an unbounded
 * daemon would hold roughly the whole stream once per slow consumer on top of the control's peak (less
 * the few MB the kernel's socket buffers absorb); the bound is half of that.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DaemonProcess, localModelToml } from "./support/daemon";
import { LOCAL_INTRO } from "./support/deps";
import { RssSampler, rssBytes } from "./support/proc";
import { TurnRecorder, turnProblems } from "./support/turns";
import { WAIT_MS } from "./support/wait";
import { type Closed, WsProbe } from "./support/ws-client";

const CAP = 256 * 1024;
const SLOW = 16;
const WORDS = 100_000;
const RATE = 30_000;
const TOML = localModelToml(0, `[ws]\nmaxBufferedBytes = ${CAP}\n`);
const MB = 2 ** 20;

let daemon: DaemonProcess;

beforeAll(async () => {
  daemon = await DaemonProcess.start({ toml: TOML });
});

afterAll(async () => {
  await daemon?.dispose();
});

interface Reader {
  probe: WsProbe;
  recorder: TurnRecorder;
  bytes: number;
}

async function reader(label: string, conversationId: string): Promise<Reader> {
  const probe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label, record: false });
  const r: Reader = { probe, recorder: new TurnRecorder(), bytes: 0 };
  probe.onFrame((f, raw) => {
    r.recorder.feed(f);
    r.bytes += raw.length;
  });
  expect((await probe.request({ type: "chat.subscribe", conversationId })).type).toBe("ack");
  return r;
}

/** Streams one long turn; returns the daemon's peak RSS during it and what the readers saw. */
async function streamTurn(conversationId: string, readers: Reader[]) {
  const sampler = new RssSampler(daemon.pid, 20);
  const sender = readers[0]!;
  const answer = await sender.probe.request({
    type: "chat.send",
    conversationId,
    message: `stream\n/long ${WORDS}\n/rate ${RATE}`,
  });
  expect(answer.type).toBe("ack");
  await Promise.all(
    readers.map((r) =>
      r.probe.until(() => r.recorder.sealed.size > 0, 120_000, `${r.probe.label}: the long turn sealed`),
    ),
  );
  return sampler.stop();
}

function readerProblems(r: Reader): string[] {
  const expected = `${LOCAL_INTRO} stream ${Array.from({ length: WORDS }, (_, i) => `word${i + 1}`).join(" ")}`;
  const problems = r.recorder.late.map((p) => `${r.probe.label}: ${p}`);
  for (const [turnId, events] of r.recorder.turns) {
    problems.push(...turnProblems(turnId, events).map((p) => `${r.probe.label}: ${p}`));
    if (r.recorder.text(turnId) !== expected) problems.push(`${r.probe.label}: turn ${turnId} text differs`);
  }
  return problems;
}

test(`${SLOW} connections that stop reading are closed at the cap; memory stays bounded; readers lose nothing`, async () => {
  // Control: the same turn with two readers and nobody slow.
  const control = crypto.randomUUID();
  const controlReaders = [await reader("control-sender", control), await reader("control-watcher", control)];
  const controlPeak = await streamTurn(control, controlReaders);
  const streamBytes = controlReaders[1]!.bytes;
  for (const r of controlReaders) r.probe.close();

  const conversationId = crypto.randomUUID();
  const slow: WsProbe[] = [];
  for (let i = 0; i < SLOW; i++) {
    const p = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: `slow${i}`, record: false });
    expect((await p.request({ type: "chat.subscribe", conversationId })).type).toBe("ack");
    expect(p.pause()).toBe(true);
    slow.push(p);
  }
  const readers = [await reader("sender", conversationId), await reader("watcher", conversationId)];
  const before = rssBytes(daemon.pid) ?? 0;
  const peak = await streamTurn(conversationId, readers);

  for (const p of slow) p.resume();
  const closes = await Promise.all(
    slow.map((p) =>
      Promise.race([p.closed, Bun.sleep(WAIT_MS).then((): Closed => ({ code: -1, reason: "still open" }))]),
    ),
  );
  const problems = [...readers.flatMap(readerProblems), ...controlReaders.flatMap(readerProblems)];
  // 4008 is the daemon's own check; 1006 means Bun's hard backpressure limit dropped the connection.
  for (const [i, c] of closes.entries()) {
    if (c.code !== 4008 && c.code !== 1006) problems.push(`slow${i}: closed with ${c.code} ${c.reason}`);
    if (slow[i]!.received >= readers[1]!.probe.received)
      problems.push(`slow${i}: received everything, so it was never slow`);
  }
  const extra = peak - Math.max(controlPeak, before);
  const bound = (SLOW * streamBytes) / 2;
  if (extra > bound)
    problems.push(
      `daemon peak RSS ${(peak / MB).toFixed(1)} MB is ${(extra / MB).toFixed(1)} MB over the control turn's ` +
        `${(controlPeak / MB).toFixed(1)} MB; bound ${(bound / MB).toFixed(1)} MB (half of what ${SLOW} ` +
        `unbounded buffers of the ${(streamBytes / MB).toFixed(1)} MB stream would hold)`,
    );
  if (problems.length > 0) throw new Error(`${problems.slice(0, 20).join("\n")}\n${daemon.output()}`);
  expect(daemon.alive).toBe(true);
  for (const r of readers) r.probe.close();
}, 180_000);

test("wildcard channel watchers that stop reading are closed at the cap too; a reader loses nothing", async () => {
  const slow: WsProbe[] = [];
  for (let i = 0; i < 4; i++) {
    const p = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: `slow-all${i}`, record: false });
    expect((await p.request({ type: "channel.subscribe", channel: "conversation:*" })).type).toBe("ack");
    expect(p.pause()).toBe(true);
    slow.push(p);
  }
  const conversationId = crypto.randomUUID();
  const readers = [await reader("all-sender", conversationId), await reader("all-watcher", conversationId)];
  await streamTurn(conversationId, readers);
  for (const p of slow) p.resume();
  const closes = await Promise.all(
    slow.map((p) =>
      Promise.race([p.closed, Bun.sleep(WAIT_MS).then((): Closed => ({ code: -1, reason: "still open" }))]),
    ),
  );
  const problems = readers.flatMap(readerProblems);
  for (const [i, c] of closes.entries())
    if (c.code !== 4008 && c.code !== 1006) problems.push(`slow-all${i}: closed with ${c.code} ${c.reason}`);
  if (problems.length > 0) throw new Error(`${problems.slice(0, 20).join("\n")}\n${daemon.output()}`);
  for (const r of readers) r.probe.close();
}, 180_000);
