/**
 * Fuzzing the live socket of a real daemon subprocess (PROTOCOL.md §2–§3).
 *
 * Thousands of random and mutated frames go to one connection, one at a time, each followed by a
 * `ping` with an id whose `ack` marks the end of that frame's synchronous answers. The oracle is the
 * protocol's own parser: a frame it rejects must get exactly one `error`/`chat.error` (the kind, code
 * and `replyTo` the parser implies) before the marker; a valid frame with an id must get exactly one
 * answer carrying that id (possibly later: surface ops are async); a valid frame without an id may stay
 * silent (compat). Every frame the daemon sends must be a valid ServerMessage. Meanwhile a well-behaved
 * client on the same daemon runs turns back to back and checks each one is complete, ordered and says
 * exactly what the offline model was asked to say. Oversized frames close with 1009, floods with 1008.
 *
 * The sample is fixed by a seed (DISPATCH_FUZZ_SEED to replay another), printed on failure.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DaemonProcess, localModelToml } from "./support/daemon";
import { LOCAL_INTRO, parseClientMessage, parseServerMessage, type ServerMessage } from "./support/deps";
import { type FuzzFrame, fuzzFrame } from "./support/fuzz-frames";
import { TurnRecorder, turnProblems } from "./support/turns";
import { seedFrom, WAIT_MS } from "./support/wait";
import { WsProbe } from "./support/ws-client";

const SEED = seedFrom("DISPATCH_FUZZ_SEED", 20_260_801);
const FRAMES = Number(process.env.DISPATCH_FUZZ_FRAMES ?? 5000);
const MAX_PAYLOAD = 256 * 1024;

/** The rate limit is lifted for this daemon: the fuzzer sends thousands of frames a second. */
const TOML = localModelToml(
  0,
  `[ws]\nmaxPayloadBytes = ${MAX_PAYLOAD}\n[ws.rateLimit]\nburst = 1000000\nperSecond = 1000000\n`,
);

const isAnswer = (f: ServerMessage): boolean =>
  f.type === "ack" || f.type === "error" || f.type === "chat.error";
const replyToOf = (f: ServerMessage): string | undefined =>
  "replyTo" in f && typeof f.replyTo === "string" ? f.replyTo : undefined;

let daemon: DaemonProcess;

beforeAll(async () => {
  daemon = await DaemonProcess.start({ toml: TOML });
});

afterAll(async () => {
  await daemon?.dispose();
});

/** Runs turns back to back on one conversation until `stop()`; returns the problems it saw. */
function steadyClient(probe: WsProbe) {
  const recorder = new TurnRecorder();
  probe.onFrame((f) => recorder.feed(f));
  const conversationId = crypto.randomUUID();
  const words = 300;
  const expected = `${LOCAL_INTRO} steady client ${Array.from({ length: words }, (_, i) => `word${i + 1}`).join(" ")}`;
  let running = true;
  const problems: string[] = [];
  let turns = 0;
  const done = (async () => {
    while (running || turns === 0) {
      const answer = await probe.request({
        type: "chat.send",
        conversationId,
        message: `steady client\n/slow 1\n/long ${words}`,
      });
      if (answer.type !== "ack") {
        problems.push(`chat.send answered ${JSON.stringify(answer)}`);
        return;
      }
      const sealedBefore = recorder.sealed.size;
      await probe.until(() => recorder.sealed.size > sealedBefore, 60_000, `turn ${turns + 1} sealed`);
      turns++;
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      problems.push(...recorder.late);
      for (const [turnId, events] of recorder.turns) {
        problems.push(...turnProblems(turnId, events));
        const text = recorder.text(turnId);
        if (text !== expected) problems.push(`turn ${turnId}: text differs: ${text.slice(0, 120)}…`);
      }
      return { problems, turns };
    },
  };
}

describe("fuzzing the live WebSocket", () => {
  test(`${FRAMES} random and mutated frames each get a well-formed answer; a streaming client is unaffected`, async () => {
    const steadyProbe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "steady" });
    const steady = steadyClient(steadyProbe);
    const fuzz = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "fuzz", keepRaw: true });
    const frames: FuzzFrame[] = fc.sample(fuzzFrame, { seed: SEED, numRuns: FRAMES });
    const problems: string[] = [];
    /** Valid frames with an id (rewritten to be unique) → how many answers carried it. */
    const expectedIds = new Map<string, string>();

    try {
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i]!;
        let sent: string | Uint8Array;
        let oracle: ReturnType<typeof parseClientMessage>;
        if (frame.kind === "binary") {
          sent = frame.bytes;
          oracle = parseClientMessage(frame.bytes);
        } else {
          sent = frame.text;
          oracle = parseClientMessage(frame.text);
          if (oracle.ok && oracle.message.id !== undefined) {
            // Unique ids, so each answer can be matched to its frame.
            const id = `v-${i}`;
            sent = JSON.stringify({ ...(JSON.parse(frame.text) as object), id });
            oracle = parseClientMessage(sent);
            expectedIds.set(id, sent.slice(0, 200));
          }
        }
        const since = fuzz.frames.length;
        fuzz.send(sent);
        const syncId = `sync-${i}`;
        fuzz.send({ type: "ping", id: syncId });
        const marker = await fuzz.waitFor(
          (f) => f.type === "ack" && f.replyTo === syncId,
          WAIT_MS,
          `the ack of ${syncId} after frame #${i} (${describeFrame(frame)})`,
          { since },
        );
        if (oracle.ok) continue;
        const window = fuzz.frames.slice(since, fuzz.frames.indexOf(marker, since));
        // Parse failures never name a surface and never answer a rewritten (valid) id.
        const answers = window.filter(
          (f) =>
            (f.type === "error" || f.type === "chat.error") &&
            !("surfaceId" in f && f.surfaceId !== undefined) &&
            !replyToOf(f)?.startsWith("v-"),
        );
        const want = oracle.error;
        const ok =
          answers.length === 1 &&
          answers[0]!.type === (want.isChat ? "chat.error" : "error") &&
          replyToOf(answers[0]!) === want.replyToId &&
          (answers[0] as { code?: string }).code === want.code;
        if (!ok) {
          problems.push(
            `frame #${i} (${describeFrame(frame)}): expected one ${want.isChat ? "chat.error" : "error"} ${want.code}` +
              ` replyTo=${want.replyToId}, got ${JSON.stringify(answers).slice(0, 300)}`,
          );
          if (problems.length > 20) break;
        }
      }

      // Answers to valid frames with ids may come after their marker (surface ops are async).
      const answersById = new Map<string, number>();
      const countAnswers = () => {
        answersById.clear();
        for (const f of fuzz.frames) {
          const id = replyToOf(f);
          if (id?.startsWith("v-") && isAnswer(f)) answersById.set(id, (answersById.get(id) ?? 0) + 1);
        }
      };
      await fuzz
        .until(
          () => {
            countAnswers();
            return [...expectedIds.keys()].every((id) => answersById.has(id));
          },
          WAIT_MS,
          "an answer to every valid frame that carried an id",
        )
        .catch(() => undefined);
      await fuzz.request({ type: "ping" });
      countAnswers();
      for (const [id, frame] of expectedIds) {
        const n = answersById.get(id) ?? 0;
        if (n !== 1) problems.push(`valid frame ${id} got ${n} answers: ${frame}`);
      }

      // Every frame the daemon sent is a well-formed server message.
      for (const text of fuzz.raw) {
        const parsed = parseServerMessage(text);
        if (!parsed.ok)
          problems.push(`malformed server frame: ${parsed.error.message}: ${text.slice(0, 200)}`);
      }
      problems.push(...fuzz.garbage.map((g) => `unparseable server frame: ${g}`));
      if (!fuzz.isOpen) problems.push(`fuzz connection closed: ${JSON.stringify(fuzz.closeEvent)}`);
      if (!daemon.alive) problems.push("daemon died");
    } finally {
      const result = await steady.stop();
      problems.push(...result.problems.map((p) => `steady client: ${p}`));
      expect(result.turns).toBeGreaterThan(0);
      fuzz.close();
      steadyProbe.close();
    }
    if (problems.length > 0) {
      throw new Error(
        `fuzz seed ${SEED} (replay with DISPATCH_FUZZ_SEED=${SEED}): ${problems.length} problem(s)\n` +
          `${problems.slice(0, 20).join("\n")}\n${daemon.output()}`,
      );
    }
    expect((await daemon.http.health()).ok).toBe(true);
  }, 180_000);

  test("an oversized frame closes that connection with 1009; others are unaffected", async () => {
    const big = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "oversized" });
    const other = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "bystander" });
    big.send(JSON.stringify({ type: "chat.send", message: "x".repeat(MAX_PAYLOAD + 1) }));
    const closed = await Promise.race([
      big.closed,
      Bun.sleep(WAIT_MS).then(() => ({ code: -1, reason: "not closed" })),
    ]);
    expect(closed.code).toBe(1009);
    expect((await other.request({ type: "ping" })).type).toBe("ack");
    other.close();
    expect(daemon.alive).toBe(true);
  });

  test("a sustained flood gets an error, then the connection closes with 1008", async () => {
    // The default rate limit (the fuzz daemon lifts it).
    const strict = await DaemonProcess.start({ toml: localModelToml(0) });
    try {
      const flood = await WsProbe.connect(strict.wsUrl, strict.token, { label: "flood" });
      const bystander = await WsProbe.connect(strict.wsUrl, strict.token, { label: "bystander" });
      const frame = JSON.stringify({ type: "ping" });
      for (let i = 0; i < 2000 && flood.isOpen; i++) flood.send(frame);
      const closed = await Promise.race([
        flood.closed,
        Bun.sleep(WAIT_MS).then(() => ({ code: -1, reason: "not closed" })),
      ]);
      expect(closed.code).toBe(1008);
      const warned = flood.frames.filter((f) => f.type === "error");
      expect(warned.length).toBeGreaterThanOrEqual(1);
      expect((await bystander.request({ type: "ping" })).type).toBe("ack");
      bystander.close();
    } finally {
      await strict.dispose();
    }
  });
});

function describeFrame(frame: FuzzFrame): string {
  if (frame.kind === "binary") return `binary ${frame.bytes.length} bytes`;
  return `${frame.origin} ${JSON.stringify(frame.text.slice(0, 120))}${frame.text.length > 120 ? "…" : ""}`;
}
