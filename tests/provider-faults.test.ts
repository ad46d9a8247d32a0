/**
 * Provider faults end turns cleanly. The real daemon talks to the testkit's loopback OpenAI-format
 * server (DISPATCH_BASE_URL), which is scripted per case: rate limits and server errors (retried before
 * any content, with `provider-retry` events), a stream cut mid-way, a stream that hangs before its first
 * token or in the middle (the turn loop's timeouts, set short in dispatch.toml), malformed SSE lines and
 * an in-stream error chunk. Each turn must end with an `error` event, `done` (reason `error`) and
 * `turn-sealed` in order; the conversation must be idle with a gap-free log; and a next turn on the same
 * conversation must complete and send the model the earlier history.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DaemonProcess } from "./support/daemon";
import {
  type OpenAIResponse,
  type OpenAIServer,
  openaiError,
  openaiText,
  startOpenAIServer,
} from "./support/deps";
import {
  doneOf,
  logProblems,
  readAllChunks,
  type SeenEvent,
  TurnRecorder,
  turnProblems,
} from "./support/turns";
import { WAIT_MS } from "./support/wait";
import { WsProbe } from "./support/ws-client";

const TIMEOUT_MS = 1500;
const TOML = `[session-orchestrator.timeouts]
firstTokenMs = ${TIMEOUT_MS}
idleMs = ${TIMEOUT_MS}
[session-orchestrator.retry]
maxAttempts = 3
initialDelayMs = 20
maxDelayMs = 100
`;

let server: OpenAIServer;
let daemon: DaemonProcess;
let probe: WsProbe;
const recorder = new TurnRecorder();

beforeAll(async () => {
  server = startOpenAIServer();
  daemon = await DaemonProcess.start({
    toml: TOML,
    env: { DISPATCH_BASE_URL: server.url, DISPATCH_MODEL: "test-model", DISPATCH_API_KEY: "test-key" },
  });
  probe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "faults" });
  probe.onFrame((f) => recorder.feed(f));
});

afterAll(async () => {
  probe?.close();
  await daemon?.dispose();
  await server?.close();
});

const stream = (...steps: Extract<OpenAIResponse, { type: "stream" }>["steps"]): OpenAIResponse => ({
  type: "stream",
  steps,
});

interface Case {
  name: string;
  responses: OpenAIResponse[];
  /** Code of the error event; undefined when the retries succeed and no error is expected. */
  code?: string;
  retries: number;
  /** Text the client saw before the fault (kept in history). */
  partial: string;
}

const cases: Case[] = [
  {
    name: "429 on every attempt (retries exhausted)",
    responses: [openaiError(429), openaiError(429), openaiError(429)],
    code: "PROVIDER_RATE_LIMITED",
    retries: 2,
    partial: "",
  },
  {
    name: "500 on every attempt",
    responses: [openaiError(500), openaiError(500), openaiError(500)],
    code: "PROVIDER_HTTP_ERROR",
    retries: 2,
    partial: "",
  },
  {
    name: "429 then 500 then a good stream (retried)",
    responses: [openaiError(429), openaiError(500), openaiText("recovered after retries")],
    retries: 2,
    partial: "recovered after retries",
  },
  {
    name: "stream cut mid-way (connection reset)",
    responses: [
      stream(
        { type: "text", text: "partial " },
        { type: "text", text: "answer " },
        { type: "delay", ms: 300 },
        {
          type: "cut",
        },
      ),
    ],
    code: "PROVIDER_NETWORK",
    retries: 0,
    partial: "partial answer ",
  },
  {
    name: "hang after some tokens (idle timeout)",
    responses: [stream({ type: "text", text: "started " }, { type: "hang" })],
    code: "ORCH_IDLE_TIMEOUT",
    retries: 0,
    partial: "started ",
  },
  {
    name: "hang before the first token on every attempt (first-token timeout)",
    responses: [stream({ type: "hang" }), stream({ type: "hang" }), stream({ type: "hang" })],
    code: "ORCH_FIRST_TOKEN_TIMEOUT",
    retries: 2,
    partial: "",
  },
  {
    name: "malformed SSE line",
    responses: [
      stream(
        { type: "text", text: "fine " },
        { type: "raw", data: "data: {not json at all\n\n" },
        { type: "text", text: "never" },
        { type: "finish", reason: "stop" },
      ),
    ],
    code: "PROVIDER_BAD_RESPONSE",
    retries: 0,
    partial: "fine ",
  },
  {
    name: "in-stream error chunk",
    responses: [stream({ type: "text", text: "fine " }, { type: "error-chunk", message: "overloaded" })],
    code: "PROVIDER_STREAM_ERROR",
    retries: 0,
    partial: "fine ",
  },
];

async function runTurn(conversationId: string, message: string): Promise<SeenEvent[]> {
  const answer = await probe.request({ type: "chat.send", conversationId, message });
  if (answer.type !== "ack") throw new Error(`chat.send answered ${JSON.stringify(answer)}`);
  const sealed = await probe.waitFor(
    (f) =>
      f.type === "chat.delta" &&
      f.event.type === "turn-sealed" &&
      f.event.conversationId === conversationId &&
      recorder.userText(f.event.turnId) === message,
    WAIT_MS + 4 * TIMEOUT_MS,
    `the turn "${message}" sealed`,
  );
  if (sealed.type !== "chat.delta" || sealed.event.type !== "turn-sealed") throw new Error("unreachable");
  const events = recorder.turns.get(sealed.event.turnId)!;
  const problems = turnProblems(sealed.event.turnId, events);
  if (problems.length > 0) throw new Error(`${problems.join("\n")}\n${daemon.output()}`);
  return events;
}

describe("provider faults through the loopback OpenAI server", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const conversationId = crypto.randomUUID();
      const requestsBefore = server.requests.length;
      server.script(...c.responses);
      const events = await runTurn(conversationId, `fault: ${c.name}`);
      const types = events.map((e) => e.event.type);
      const errors = events.flatMap((e) => (e.event.type === "error" ? [e.event] : []));
      expect(types.filter((t) => t === "provider-retry").length).toBe(c.retries);
      expect(server.requests.length - requestsBefore).toBe(c.responses.length);
      expect(server.pending()).toBe(0);
      expect(recorder.text(events[0]!.event.turnId)).toBe(c.partial);
      if (c.code === undefined) {
        expect(errors).toEqual([]);
        expect(doneOf(events)?.reason).toBe("stop");
      } else {
        expect(errors.map((e) => e.code)).toEqual([c.code]);
        expect(doneOf(events)?.reason).toBe("error");
        // The error comes before done.
        expect(types.indexOf("error")).toBeLessThan(types.indexOf("done"));
      }
      expect(await daemon.http.status(conversationId)).toMatchObject({ isActive: false, status: "idle" });

      // Continuable: the next turn completes and the model gets the earlier turn as history.
      server.script(openaiText("continued fine"));
      const next = await runTurn(conversationId, "and now?");
      expect(doneOf(next)?.reason).toBe("stop");
      expect(recorder.text(next[0]!.event.turnId)).toBe("continued fine");
      const body = JSON.stringify(server.requests.at(-1)?.body);
      expect(body).toContain(`fault: ${c.name}`);

      const chunks = await readAllChunks(daemon.http, conversationId);
      expect(logProblems(conversationId, chunks)).toEqual([]);
      const shape = chunks.map((ch) => `${ch.role}:${ch.chunk.type}`);
      const expected = [
        "user:text",
        ...(c.partial ? ["assistant:text"] : []),
        ...(c.code ? ["assistant:error"] : []),
        "user:text",
        "assistant:text",
      ];
      expect(shape).toEqual(expected);
    }, 60_000);
  }
});
