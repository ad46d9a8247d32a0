/**
 * The in-flight step survives a crash: a long answer streams from the real daemon, SIGKILL lands at a
 * random point, and after the restart the history holds the streamed prefix, marked interrupted:
 * - what is kept is a prefix of what the client received (never more, never altered);
 * - everything the client had received a flush bound before the kill is kept (the daemon flushes
 *   within 250 ms; the margin absorbs a loaded machine);
 * - the log stays gap-free and the conversation takes the next turn, which sees the kept prefix.
 *
 * Kill points come from a seeded PRNG (DISPATCH_CRASH_SEED to replay), printed on failure.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DaemonProcess, localModelToml, makeHome, removeHome } from "./support/daemon";
import { chunkText, logProblems, readAllChunks } from "./support/turns";
import { seededRandom, seedFrom, WAIT_MS } from "./support/wait";
import { WsProbe } from "./support/ws-client";

const SEED = seedFrom("DISPATCH_CRASH_SEED", 15_004);
const ROUNDS = 3;
/** What the client received more than this long before the kill must be in the history. */
const MARGIN_MS = 1_500;

let home: string;
let daemon: DaemonProcess | undefined;
const random = seededRandom(SEED);
const conversationId = crypto.randomUUID();

beforeAll(async () => {
  home = await makeHome("dispatch-inflight-");
});

afterAll(async () => {
  await daemon?.dispose();
  await removeHome(home);
});

test(`SIGKILL mid-answer, ${ROUNDS} times: the streamed prefix is kept, marked interrupted`, async () => {
  const report: string[] = [];
  const fail = (problems: string[]) => {
    if (problems.length > 0)
      throw new Error(
        `crash seed ${SEED}: ${report.join("; ")}\n${problems.join("\n")}\n${daemon?.output()}`,
      );
  };
  daemon = await DaemonProcess.start({ home, toml: localModelToml(2) });
  for (let round = 1; round <= ROUNDS; round++) {
    const probe = await WsProbe.connect(daemon.wsUrl, daemon.token, {
      label: `round${round}`,
      record: false,
    });
    // Arrival time and cumulative length of the streamed text of this round's turn.
    const received: { at: number; length: number }[] = [];
    let text = "";
    probe.onFrame((f) => {
      if (f.type !== "chat.delta" || f.event.conversationId !== conversationId) return;
      if (f.event.type === "text-delta") {
        text += f.event.delta;
        received.push({ at: performance.now(), length: text.length });
      }
    });
    const message = `round ${round}\n/long 4000`;
    const ack = await probe.request({ type: "chat.send", conversationId, message });
    expect(ack.type).toBe("ack");
    await probe.until(() => received.length > 0, WAIT_MS, "the first text delta");
    const delay = Math.floor(300 + random() * 2500);
    await Bun.sleep(delay);
    const killAt = performance.now();
    await daemon.kill();
    report.push(`round ${round}: killed ${delay} ms after the first delta, ${text.length} chars received`);

    daemon = await DaemonProcess.start({ home, toml: localModelToml(2) });
    const chunks = await readAllChunks(daemon.http, conversationId, 50);
    const problems = logProblems(conversationId, chunks);
    const at = chunks.findIndex((c) => c.role === "user" && chunkText(c) === message);
    const step = chunks.slice(at + 1).filter((c) => c.role === "assistant");
    const kept = step
      .filter((c) => c.chunk.type === "text")
      .map(chunkText)
      .join("");
    const marker = step.find((c) => c.chunk.type === "error");
    if (at < 0) problems.push(`round ${round}: the user message is missing`);
    if (!text.startsWith(kept))
      problems.push(`round ${round}: kept text is not a prefix of what was received: ${kept.slice(-80)}`);
    const due = received.filter((r) => r.at <= killAt - MARGIN_MS).at(-1)?.length ?? 0;
    if (kept.length < due)
      problems.push(
        `round ${round}: kept ${kept.length} chars, but ${due} were received ${MARGIN_MS} ms before the kill`,
      );
    // Nothing of the step is written before its first flush; once something is, it is marked.
    if (step.length > 0 && marker?.chunk.type !== "error")
      problems.push(`round ${round}: the cut step is not marked interrupted`);
    if (marker?.chunk.type === "error" && marker.chunk.code !== "STORE_STEP_INTERRUPTED")
      problems.push(`round ${round}: marker code ${marker.chunk.code}`);
    report.push(`kept ${kept.length} (due ${due})`);
    const status = await daemon.http.status(conversationId);
    if (status.isActive || status.status !== "idle") problems.push(`status ${JSON.stringify(status)}`);
    fail(problems);
    probe.close();
  }

  // The conversation continues from what was kept.
  const probe = await WsProbe.connect(daemon!.wsUrl, daemon!.token, { label: "final" });
  const ack = await probe.request({ type: "chat.send", conversationId, message: "after the crashes" });
  expect(ack.type).toBe("ack");
  await probe.waitFor(
    (f) =>
      f.type === "chat.delta" && f.event.type === "turn-sealed" && f.event.conversationId === conversationId,
    WAIT_MS,
    "the turn after the crashes sealed",
  );
  probe.close();
  const chunks = await readAllChunks(daemon!.http, conversationId, 50);
  fail(logProblems(conversationId, chunks));
  const last = chunks.at(-1);
  expect(last?.role).toBe("assistant");
  const marked = chunks.filter((c) => c.chunk.type === "error" && c.chunk.code === "STORE_STEP_INTERRUPTED");
  expect(marked.length).toBeGreaterThan(0);
}, 120_000);
