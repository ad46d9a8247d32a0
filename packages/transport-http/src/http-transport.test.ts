/**
 * The extension in a real kernel host with the real store (temp SQLite file), providers (offline
 * model) and orchestrator, driven over real HTTP.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { createHost, type Host } from "@dispatch/kernel";
import { metricsExtension } from "@dispatch/metrics";
import type { AgentEvent } from "@dispatch/protocol/types";
import { localKind } from "@dispatch/provider-local";
import { providersExtension } from "@dispatch/providers";
import { Orchestrator, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { family, parsePrometheus, sample, withTimeout } from "@dispatch/testkit";
import { HttpTransport } from "./contract";
import { httpTransportExtension } from "./extension";

// A real host boots in beforeAll and turns stream over HTTP; give a loaded machine room.
setDefaultTimeout(30_000);

const TOKEN = "test-token-0123456789abcdef";
let host: Host;
let base: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "dispatch-http-"));
  host = createHost({
    extensions: [
      metricsExtension(),
      conversationStoreExtension({ path: join(dir, "dispatch.db") }),
      providersExtension({ env: {}, kinds: [localKind()] }),
      sessionOrchestratorExtension({ defaultCwd: dir }),
      httpTransportExtension({ version: "9.9.9" }),
    ],
    // A 1 s idle timeout: much shorter than the slow model's first token below.
    config: { "transport-http": { port: 0, token: TOKEN, idleTimeoutSec: 1 } },
  });
  const report = await host.start();
  expect(report.disabled).toEqual([]);
  base = host.get(HttpTransport).url;
});
afterAll(() => host?.stop());

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
  });

/** Reads NDJSON events from a response until `stop` matches (inclusive). */
async function readUntil(res: Response, stop: (e: AgentEvent) => boolean, what: string, ms = 20_000) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const seen: AgentEvent[] = [];
  let buffer = "";
  await withTimeout(
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended before ${what}`);
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.trim()) continue;
          const event = JSON.parse(line) as AgentEvent;
          seen.push(event);
          if (stop(event)) return;
        }
      }
    })(),
    ms,
    what,
  );
  return { seen, reader };
}

test("health answers with the configured version, uptime, running turns and the store's state", async () => {
  expect(await (await api("/health")).json()).toMatchObject({
    ok: true,
    version: "9.9.9",
    activeTurns: 0,
    store: "ok",
  });
});

test("the public routes answer loopback clients without the token; the others do not", async () => {
  const health = await fetch(`${base}/health`);
  expect(health.status).toBe(200);
  expect(Number.isInteger(((await health.json()) as { uptimeSec: number }).uptimeSec)).toBe(true);
  for (const path of ["/openapi.json", "/protocol.json", "/metrics"])
    expect((await fetch(`${base}${path}`)).status).toBe(200);
  expect((await fetch(`${base}/models`)).status).toBe(401);
  expect((await fetch(`${base}/health`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { servers: { url: string }[] };
  expect(doc.servers).toEqual([{ url: base }]);
});

test("a body that is not application/json is refused with 415", async () => {
  const res = await api("/chat", {
    method: "POST",
    body: JSON.stringify({ message: "hi" }),
    headers: { "content-type": "text/plain" },
  });
  expect(res.status).toBe(415);
  expect(await res.json()).toMatchObject({ code: "HTTP_UNSUPPORTED_MEDIA_TYPE" });
});

test("/metrics counts requests by route and status in the Prometheus text format", async () => {
  await api("/conversations/nope/status");
  const res = await fetch(`${base}/metrics`);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const parsed = parsePrometheus(await res.text());
  const requests = family(parsed, "dispatch_http_requests_total");
  const notFound = sample(requests, { route: "/conversations/:id/status", method: "GET", status: "404" });
  expect(Number(notFound?.value)).toBeGreaterThanOrEqual(1);
  expect(family(parsed, "dispatch_store_append_duration_seconds").type).toBe("HISTOGRAM");
});

test("a first token slower than the idle timeout does not cut the NDJSON stream", async () => {
  // Each token of this answer (the first included) comes after 3 s, well past the 1 s idle timeout
  // (Bun checks idleness coarsely, in steps of a few seconds).
  const res = await api("/chat", { method: "POST", body: JSON.stringify({ message: "/slow 3000\nslow" }) });
  const conversationId = res.headers.get("x-conversation-id") as string;
  const { seen, reader } = await readUntil(res, (e) => e.type === "text-delta", "the first, slow text-delta");
  expect(seen.at(-1)?.type).toBe("text-delta");
  host.get(Orchestrator).stopTurn(conversationId);
  await reader.cancel();
}, 30_000);

test("a client that goes away does not stop the turn", async () => {
  const controller = new AbortController();
  const res = await api("/chat", {
    method: "POST",
    body: JSON.stringify({ message: "/slow 30\n/long 20\nkeep going" }),
    signal: controller.signal,
  });
  const conversationId = res.headers.get("x-conversation-id") as string;
  await readUntil(res, (e) => e.type === "text-delta", "the first text-delta").catch(() => {});
  controller.abort();
  const settled = await withTimeout(
    host.get(Orchestrator).whenSettled(conversationId) as Promise<{ reason: string } | undefined>,
    20_000,
    "the turn to finish on its own",
  );
  expect(settled?.reason).toBe("stop");
  const window = (await (await api(`/conversations/${conversationId}`)).json()) as {
    chunks: { chunk: { text?: string } }[];
  };
  expect(window.chunks.some((c) => c.chunk.text?.includes("word20"))).toBe(true);
}, 30_000);

test("POST /chat streams level 1 unless asked for level 2 (header or query); a bad level is 400", async () => {
  const ext = new Set([
    "user-message",
    "step-complete",
    "permission-request",
    "permission-resolved",
    "steering",
  ]);
  const chat = async (path: string, headers: Record<string, string> = {}) => {
    const res = await api(path, { method: "POST", headers, body: JSON.stringify({ message: "hi levels" }) });
    expect(res.status).toBe(200);
    const { seen, reader } = await readUntil(res, (e) => e.type === "turn-sealed", "turn-sealed");
    await reader.cancel();
    return seen.map((e) => e.type);
  };
  const one = await chat("/chat");
  expect(one.filter((t) => ext.has(t))).toEqual([]);
  expect(one).toContain("text-delta");
  expect(await chat("/chat", { "Dispatch-Protocol": "2" })).toContain("user-message");
  const viaQuery = await chat("/chat?protocol=2");
  expect(viaQuery).toContain("user-message");
  expect(viaQuery).toContain("step-complete");
  for (const [path, headers] of [
    ["/chat", { "Dispatch-Protocol": "3" }],
    ["/chat?protocol=abc", {}],
    ["/chat?protocol=1", { "Dispatch-Protocol": "2" }],
  ] as const) {
    const res = await api(path, { method: "POST", headers, body: JSON.stringify({ message: "no" }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "HTTP_UNSUPPORTED_PROTOCOL" });
  }
});

test("history of a well-formed id with no chunks is an empty conversation; a malformed id is 400", async () => {
  const minted = crypto.randomUUID();
  expect(await (await api(`/conversations/${minted}`)).json()).toEqual({ chunks: [], latestSeq: 0 });
  const since = await api(`/conversations/${minted}?sinceSeq=7`);
  expect(since.status).toBe(200);
  expect(await since.json()).toEqual({ chunks: [], latestSeq: 7 });
  const tooLong = await api(`/conversations/${"x".repeat(201)}`);
  expect(tooLong.status).toBe(400);
  expect(await tooLong.json()).toMatchObject({ code: "HTTP_INVALID_PATH" });
  expect((await api(`/conversations/${minted}?sinceSeq=-1`)).status).toBe(400);
  // Status of a conversation that does not exist stays 404 (nothing to report), not a 500.
  expect((await api(`/conversations/${minted}/status`)).status).toBe(404);
});

test("a service refusal with a 5xx code keeps its status: chat during shutdown is 503", async () => {
  // Last in this file: the orchestrator refuses new turns from here on.
  await host.get(Orchestrator).shutdown();
  const res = await api("/chat", { method: "POST", body: JSON.stringify({ message: "too late" }) });
  expect(res.status).toBe(503);
  expect(await res.json()).toMatchObject({ code: "ORCH_SHUTTING_DOWN" });
});
