/**
 * What an operator sees, end to end: the real daemon as a subprocess, turns that fail against a
 * loopback OpenAI-compatible server (401, 500, 429, malformed SSE) and a refused connection, one turn
 * with a tool call, a WebSocket connection; then its log file and `/metrics` (scraped without the token,
 * read with a real Prometheus parser).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentEvent } from "@dispatch/protocol/types";
import {
  family,
  type OpenAIServer,
  parsePrometheus,
  parsePrometheusSeries,
  sample,
  startOpenAIServer,
  withTimeout,
} from "@dispatch/testkit";
import {
  ndjson,
  type RunningTestDaemon,
  reap,
  startDaemon,
  tempHome,
  WsClient,
  writeConfig,
} from "./test-support";

setDefaultTimeout(60_000);

const KEY = "sk-observe-right-key-0123456789";
const WRONG_KEY = "sk-observe-wrong-key-9876543210";
const MARK = "PRIVATE-USER-TEXT";

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

let d: RunningTestDaemon;
let server: OpenAIServer;
let home: string;
let refusedUrl: string;
const turns: { name: string; conversationId: string; turnId: string; events: AgentEvent[] }[] = [];

async function chat(name: string, model: string, message: string): Promise<void> {
  const res = await d.api("/chat", { method: "POST", body: JSON.stringify({ model, message }) });
  expect([name, res.status]).toEqual([name, 200]);
  const events: AgentEvent[] = [];
  await withTimeout(
    (async () => {
      for await (const e of ndjson(res)) {
        events.push(e);
        if (e.type === "turn-sealed") return;
      }
    })(),
    30_000,
    `turn ${name} to be sealed`,
  );
  turns.push({
    name,
    conversationId: res.headers.get("x-conversation-id") as string,
    turnId: res.headers.get("x-turn-id") as string,
    events,
  });
}

beforeAll(async () => {
  server = startOpenAIServer({ apiKey: KEY });
  const probe = startOpenAIServer();
  refusedUrl = probe.url;
  await probe.close();
  home = await tempHome();
  await writeConfig(
    home,
    [
      `[log]`,
      `level = "debug"`,
      `[session-orchestrator]`,
      `retry = { maxAttempts = 2, initialDelayMs = 1, maxDelayMs = 5 }`,
      `[providers.credentials.good]`,
      `kind = "openai-compatible"`,
      `baseUrl = "${server.url}"`,
      `apiKey = "${KEY}"`,
      `models = ["m"]`,
      `[providers.credentials.bad]`,
      `kind = "openai-compatible"`,
      `baseUrl = "${server.url}"`,
      `apiKey = "${WRONG_KEY}"`,
      `models = ["m"]`,
      `[providers.credentials.gone]`,
      `kind = "openai-compatible"`,
      `baseUrl = "${refusedUrl}"`,
      `apiKey = "${KEY}"`,
      `models = ["m"]`,
      "",
    ].join("\n"),
  );
  d = await startDaemon(home);
  const ws = new WsClient(`ws://127.0.0.1:${d.info.wsPort}`, [`dispatch.token.${d.token}`]);
  await ws.next(() => true, "the first frame");
  ws.ws.close(1000, "bye");
  await ws.closed;

  await chat("401", "bad/m", `${MARK} 401`);
  server.script({ type: "error", status: 500, body: "upstream exploded" });
  server.script({ type: "error", status: 500, body: "upstream exploded" });
  await chat("500", "good/m", `${MARK} 500`);
  server.script({ type: "error", status: 429, retryAfter: 0 });
  server.script({ type: "error", status: 429, retryAfter: 0 });
  await chat("429", "good/m", `${MARK} 429`);
  server.script({ type: "stream", steps: [{ type: "raw", data: "data: {not json\n\n" }] });
  await chat("malformed", "good/m", `${MARK} malformed`);
  await chat("refused", "gone/m", `${MARK} refused`);
  await chat("tool", "local/echo", `${MARK} tool\n/tool list_dir {}`);
});
afterAll(async () => {
  reap(d);
  await server?.close();
});

function logLines(): LogLine[] {
  return readFileSync(join(home, "logs", "daemon.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as LogLine);
}

test("every turn has an info line at its start and one at its end with what happened", () => {
  const lines = logLines();
  const expected: Record<string, { reason: string; errorCode?: string; model: string }> = {
    "401": { reason: "error", errorCode: "PROVIDER_AUTH", model: "bad/m" },
    "500": { reason: "error", errorCode: "PROVIDER_HTTP_ERROR", model: "good/m" },
    "429": { reason: "error", errorCode: "PROVIDER_RATE_LIMITED", model: "good/m" },
    malformed: { reason: "error", errorCode: "PROVIDER_BAD_RESPONSE", model: "good/m" },
    refused: { reason: "error", errorCode: "PROVIDER_NETWORK", model: "gone/m" },
    tool: { reason: "stop", model: "local/echo" },
  };
  for (const t of turns) {
    const of = (msg: string) => lines.filter((l) => l.msg === msg && l.turnId === t.turnId);
    expect([t.name, of("turn started").map((l) => [l.level, l.conversationId, l.model])]).toEqual([
      t.name,
      [["info", t.conversationId, expected[t.name]?.model]],
    ]);
    const ended = of("turn ended");
    expect([t.name, ended.length]).toEqual([t.name, 1]);
    const want = expected[t.name]!;
    expect(ended[0]).toMatchObject({
      level: "info",
      conversationId: t.conversationId,
      model: want.model,
      reason: want.reason,
      ...(want.errorCode ? { errorCode: want.errorCode } : {}),
    });
    for (const field of ["durationMs", "steps", "inputTokens", "outputTokens"]) {
      expect([t.name, field, typeof ended[0]?.[field]]).toEqual([t.name, field, "number"]);
    }
  }
  expect(lines.find((l) => l.msg === "turn ended" && l.model === "local/echo")?.steps).toBe(2);
});

test("every provider error is a warn line with code, status, URL and attempt", () => {
  const warns = logLines().filter((l) => l.msg === "provider error");
  for (const w of warns) expect(w.level).toBe("warn");
  const by = (code: string) => warns.filter((w) => w.code === code);
  expect(by("PROVIDER_AUTH")).toMatchObject([
    { status: 401, url: `${server.url}/chat/completions`, attempt: 1 },
  ]);
  expect(by("PROVIDER_HTTP_ERROR").map((w) => [w.status, w.attempt, w.retrying])).toEqual([
    [500, 1, true],
    [500, 2, false],
  ]);
  expect(by("PROVIDER_RATE_LIMITED").map((w) => [w.status, w.attempt, w.retrying])).toEqual([
    [429, 1, true],
    [429, 2, false],
  ]);
  expect(by("PROVIDER_BAD_RESPONSE")).toHaveLength(1);
  expect(by("PROVIDER_NETWORK").map((w) => w.url)).toContain(`${refusedUrl}/chat/completions`);
});

test("permission decisions are info lines naming the tool, the decision and who decided", () => {
  const decided = logLines().filter((l) => l.msg === "permission decided");
  expect(decided).toContainEqual(
    expect.objectContaining({ level: "info", tool: "list_dir", decision: "allow", by: "policy" }),
  );
});

test("debug lines for each HTTP request and WebSocket connect/close", () => {
  const lines = logLines();
  const requests = lines.filter((l) => l.msg === "HTTP request");
  expect(requests.length).toBeGreaterThanOrEqual(turns.length);
  expect(requests).toContainEqual(
    expect.objectContaining({ level: "debug", method: "POST", route: "/chat", status: 200 }),
  );
  for (const r of requests) expect(typeof r.durationMs).toBe("number");
  const opened = lines.find((l) => l.msg === "connection opened");
  expect(opened).toMatchObject({ level: "debug", protocolLevel: "1" });
  const closed = lines.find((l) => l.msg === "connection closed" && l.conn === opened?.conn);
  expect(closed).toMatchObject({ level: "debug", code: 1000, protocolLevel: "1" });
});

test("no message text above debug, and no secret anywhere", () => {
  const raw = readFileSync(join(home, "logs", "daemon.log"), "utf8");
  for (const secret of [KEY, WRONG_KEY, d.token]) expect(raw.includes(secret)).toBe(false);
  for (const l of logLines()) {
    if (l.level === "debug") continue;
    expect([l.msg, JSON.stringify(l).includes(MARK)]).toEqual([l.msg, false]);
  }
});

test("/metrics, scraped without the token, holds the turn, provider, HTTP, WS, store and process metrics", async () => {
  const res = await d.api("/metrics", { auth: false });
  expect(res.status).toBe(200);
  const text = await res.text();
  const m = parsePrometheus(text);
  const series = parsePrometheusSeries(text);
  const value = (name: string, labels: Record<string, string> = {}) =>
    Number(sample(family(m, name), labels)?.value);
  expect(value("dispatch_turns_total", { outcome: "error" })).toBe(5);
  expect(value("dispatch_turns_total", { outcome: "stop" })).toBe(1);
  expect(value("dispatch_turns_active")).toBe(0);
  expect(value("dispatch_tokens_total", { model: "local/echo", direction: "out" })).toBeGreaterThan(0);
  expect(value("dispatch_provider_errors_total", { code: "PROVIDER_RATE_LIMITED" })).toBe(2);
  expect(value("dispatch_provider_errors_total", { code: "PROVIDER_NETWORK" })).toBeGreaterThanOrEqual(1);
  expect(family(m, "dispatch_time_to_first_token_seconds").type).toBe("HISTOGRAM");
  const count = (name: string, labels: Record<string, string>) =>
    Number(sample(family(series, `${name}_count`), labels)?.value);
  expect(count("dispatch_time_to_first_token_seconds", { model: "local/echo" })).toBe(2);
  expect(count("dispatch_token_delivery_seconds", { model: "local/echo" })).toBeGreaterThan(0);
  expect(value("dispatch_ws_connections", { level: "1" })).toBe(0);
  expect(value("dispatch_ws_forced_closes_total", { reason: "slow-consumer" })).toBe(0);
  expect(value("dispatch_http_requests_total", { route: "/chat", method: "POST", status: "200" })).toBe(
    turns.length,
  );
  expect(Number(family(m, "dispatch_store_append_duration_seconds").metrics[0]?.count)).toBeGreaterThan(0);
  expect(count("dispatch_http_request_duration_seconds", { route: "/chat" })).toBe(turns.length);
  expect(family(m, "dispatch_event_loop_delay_seconds").type).toBe("HISTOGRAM");
  expect(value("dispatch_process_resident_memory_bytes")).toBeGreaterThan(0);
});
