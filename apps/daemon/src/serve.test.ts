/**
 * End to end: the real daemon as a subprocess on free ports, driven with fetch and a real WebSocket.
 * One daemon serves every test of this file; the last test stops it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentEvent } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit";
import {
  ndjson,
  type RunningTestDaemon,
  readUntil,
  reap,
  startDaemon,
  tempHome,
  WsClient,
  writeConfig,
} from "./test-support";

// One daemon subprocess serves the file; a loaded machine needs more than the default 5 s (hooks too).
setDefaultTimeout(30_000);

const MAX_BODY = 65_536;
let d: RunningTestDaemon;

beforeAll(async () => {
  const home = await tempHome();
  await writeConfig(home, `[http]\nmaxBodyBytes = ${MAX_BODY}\n`);
  d = await startDaemon(home);
});
afterAll(() => reap(d));

const post = (path: string, body: unknown, init: RequestInit = {}) =>
  d.api(path, {
    ...init,
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...init.headers },
  });
const put = (path: string, body: unknown) =>
  d.api(path, { method: "PUT", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

async function chat(body: Record<string, unknown>) {
  // Level 2: these tests read user-message and permission-request events.
  const res = await post("/chat", body, { headers: { "dispatch-protocol": "2" } });
  expect(res.status).toBe(200);
  const conversationId = res.headers.get("x-conversation-id") as string;
  return { res, conversationId, events: ndjson(res) };
}

describe("discovery", () => {
  test("daemon.json has mode 0600 and names the live ports and token", () => {
    const path = join(d.home, "daemon.json");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(d.info.pid).toBe(d.proc.pid);
    expect(d.info.host).toBe("127.0.0.1");
    expect(d.info.token.length).toBeGreaterThanOrEqual(43);
    expect(Number.isNaN(Date.parse(d.info.startedAt))).toBe(false);
    expect(d.stdout.text).toContain(`http   http://127.0.0.1:${d.info.httpPort}`);
    expect(d.stdout.text).toContain("local/echo — the offline local model");
  });

  test("GET /health and GET /models", async () => {
    expect(await (await d.api("/health")).json()).toMatchObject({
      ok: true,
      version: d.info.version,
      activeTurns: 0,
      store: "ok",
    });
    const models = (await (await d.api("/models")).json()) as { models: string[]; modelInfo: object };
    expect(models.models).toContain("local/echo");
    expect(Object.keys(models.modelInfo)).toContain("local/echo");
  });

  test("GET /openapi.json and /protocol.json come from the protocol package", async () => {
    const openapi = (await (await d.api("/openapi.json")).json()) as { openapi: string; paths: object };
    expect(openapi.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.paths)).toContain("/chat");
    const protocol = (await (await d.api("/protocol.json")).json()) as { $defs: object };
    expect(Object.keys(protocol.$defs)).toContain("ChatSendMessage");
  });
});

describe("POST /chat", () => {
  test("streams NDJSON events with X-Conversation-Id until turn-sealed; history is persisted", async () => {
    const { res, conversationId, events } = await chat({ message: "hello daemon" });
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const seen = await readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed");
    const types = seen.map((e) => e.type);
    expect(types[0]).toBe("user-message");
    expect(types).toContain("text-delta");
    expect(types.indexOf("done")).toBeLessThan(types.indexOf("turn-sealed"));
    expect(seen.every((e) => e.conversationId === conversationId)).toBe(true);
    const text = seen.flatMap((e) => (e.type === "text-delta" ? [e.delta] : [])).join("");
    expect(text).toContain("hello daemon");

    const window = (await (await d.api(`/conversations/${conversationId}`)).json()) as {
      chunks: { role: string; chunk: { type: string; text?: string } }[];
      latestSeq: number;
    };
    expect(window.chunks[0]).toMatchObject({ role: "user", chunk: { type: "text", text: "hello daemon" } });
    expect(window.chunks.some((c) => c.role === "assistant" && c.chunk.text?.includes("hello daemon"))).toBe(
      true,
    );
    const after = (await (
      await d.api(`/conversations/${conversationId}?sinceSeq=${window.latestSeq}`)
    ).json()) as {
      chunks: unknown[];
      latestSeq: number;
    };
    expect(after).toEqual({ chunks: [], latestSeq: window.latestSeq });
  });

  test("events arrive as they happen; 409 while the turn runs; stop ends it sealed", async () => {
    const { conversationId, events } = await chat({ message: "/slow 200\n/long 200\nslow one" });
    // The first delta is readable while the turn is still generating: the stream is not buffered.
    await readUntil(events, (e) => e.type === "text-delta", "the first text-delta");
    const status = (await (await d.api(`/conversations/${conversationId}/status`)).json()) as {
      isActive: boolean;
    };
    expect(status).toMatchObject({ conversationId, isActive: true, status: "active" });

    const second = await post("/chat", { conversationId, message: "again" });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ code: "ORCH_TURN_RUNNING" });

    // While it runs, text is queued; a queued message can be cancelled by its id.
    const queued = (await (
      await post(`/conversations/${conversationId}/queue`, { text: "later" })
    ).json()) as {
      startedTurn: boolean;
      queue: { messageId: string; text: string }[];
    };
    expect(queued).toMatchObject({ conversationId, startedTurn: false, queue: [{ text: "later" }] });
    const messageId = queued.queue[0]?.messageId as string;
    const cancelled = await d.api(`/conversations/${conversationId}/queue/${messageId}`, {
      method: "DELETE",
    });
    expect(await cancelled.json()).toEqual({ conversationId, cancelled: true, queue: [] });

    const stop = await post(`/conversations/${conversationId}/stop`, {});
    expect(await stop.json()).toEqual({ conversationId, abortedTurn: true });
    const rest = await readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed after stop");
    expect(rest.find((e) => e.type === "done")).toMatchObject({ reason: "aborted" });
  });

  test("a permission request is answered over HTTP and the turn goes on", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "dispatch-cwd-"));
    const { conversationId, events } = await chat({
      message: `/tool write_file {"path":"note.txt","content":"hi","overwrite":false}`,
      cwd,
    });
    const seen = await readUntil(events, (e) => e.type === "permission-request", "a permission-request");
    const request = seen.at(-1) as Extract<AgentEvent, { type: "permission-request" }>;
    const wrong = await post(`/conversations/${conversationId}/permissions/nope`, { decision: "allow" });
    expect(wrong.status).toBe(404);
    const bad = await post(`/conversations/${conversationId}/permissions/${request.requestId}`, {
      decision: "maybe",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("decision");
    const ok = await post(`/conversations/${conversationId}/permissions/${request.requestId}`, {
      decision: "allow",
    });
    expect(await ok.json()).toEqual({ conversationId, requestId: request.requestId, decision: "allow" });
    const rest = await readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed after the tool");
    expect(rest.find((e) => e.type === "tool-result")).toMatchObject({
      toolName: "write_file",
      isError: false,
    });
    expect(await Bun.file(join(cwd, "note.txt")).text()).toBe("hi");
  });
});

describe("conversation endpoints", () => {
  test("settings, title, queue, list and window queries", async () => {
    const { conversationId, events } = await chat({ message: "settings test" });
    await readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed");
    const base = `/conversations/${conversationId}`;

    expect(await (await put(`${base}/model`, { model: "local/slow" })).json()).toEqual({
      conversationId,
      model: "local/slow",
    });
    expect(await (await d.api(`${base}/model`)).json()).toEqual({ conversationId, model: "local/slow" });
    expect(await (await put(`${base}/title`, { title: "Renamed" })).json()).toEqual({
      conversationId,
      title: "Renamed",
    });
    expect(await (await put(`${base}/cwd`, { cwd: "/tmp" })).json()).toEqual({ conversationId, cwd: "/tmp" });
    const relative = await put(`${base}/cwd`, { cwd: "../elsewhere" });
    expect(relative.status).toBe(400);
    expect(((await relative.json()) as { error: string }).error).toContain("absolute");
    expect(await (await d.api(`${base}/cwd`)).json()).toEqual({ conversationId, cwd: "/tmp" });
    expect(await (await put(`${base}/reasoning-effort`, { reasoningEffort: "high" })).json()).toEqual({
      conversationId,
      reasoningEffort: "high",
    });
    const badEffort = await put(`${base}/reasoning-effort`, { reasoningEffort: "extreme" });
    expect(badEffort.status).toBe(400);
    expect(((await badEffort.json()) as { error: string }).error).toContain("reasoningEffort");
    await put(`${base}/model`, { model: "local/echo" });

    const cancel = await d.api(`${base}/queue/unknown-message`, { method: "DELETE" });
    expect(await cancel.json()).toEqual({ conversationId, cancelled: false, queue: [] });
    const queued = (await (await post(`${base}/queue`, { text: "queued while idle" })).json()) as {
      startedTurn: boolean;
    };
    expect(queued).toMatchObject({ conversationId, startedTurn: true });

    const list = (await (await d.api("/conversations?limit=50")).json()) as {
      conversations: { id: string; title: string }[];
    };
    expect(list.conversations.find((c) => c.id === conversationId)?.title).toBe("Renamed");
    const closedOnly = (await (await d.api("/conversations?status=closed")).json()) as {
      conversations: unknown[];
    };
    expect(closedOnly.conversations).toEqual([]);
    const badStatus = await d.api("/conversations?status=sleeping");
    expect(badStatus.status).toBe(400);
    expect(((await badStatus.json()) as { error: string }).error).toContain("status");

    const windowed = (await (await d.api(`${base}?limit=1`)).json()) as {
      chunks: { seq: number }[];
      latestSeq: number;
    };
    expect(windowed.chunks).toHaveLength(1);
    expect(windowed.latestSeq).toBe(windowed.chunks[0]?.seq as number);
    expect((await d.api(`${base}?limit=zero`)).status).toBe(400);
  });

  test("POST /conversations/:id/open reaches a WebSocket client as conversation.open with workspaceId", async () => {
    const { conversationId, events } = await chat({ message: "open me" });
    await readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed");
    const ws = new WsClient(`ws://127.0.0.1:${d.info.wsPort}`, [`dispatch.token.${d.token}`]);
    try {
      await ws.next((f) => f.type === "catalog", "the catalog frame");
      expect(await (await post(`/conversations/${conversationId}/open`, {})).json()).toEqual({
        conversationId,
      });
      const open = await ws.next((f) => f.type === "conversation.open", "conversation.open");
      expect(open).toEqual({ type: "conversation.open", conversationId, workspaceId: "default" });
    } finally {
      ws.ws.close();
    }
  });

  test("compact summarizes older messages; with nothing left to summarize it is 409; pages and cursors", async () => {
    const first = await chat({ message: "one" });
    await readUntil(first.events, (e) => e.type === "turn-sealed", "turn-sealed");
    const id = first.conversationId;
    for (const message of ["two", "three"]) {
      const next = await chat({ conversationId: id, message });
      await readUntil(next.events, (e) => e.type === "turn-sealed", "turn-sealed");
    }
    const compacted = await post(`/conversations/${id}/compact`, { keepLastN: 2 });
    expect(compacted.status).toBe(200);
    const body = (await compacted.json()) as {
      conversationId: string;
      newConversationId: string;
      messagesKept: number;
    };
    expect(body).toMatchObject({ conversationId: id, messagesKept: 2 });
    expect(body.newConversationId).not.toBe(id);
    // An empty body means the defaults.
    const again = await d.api(`/conversations/${id}/compact`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "ORCH_NOTHING_TO_COMPACT" });

    const page = (await (await d.api("/conversations?limit=1")).json()) as {
      conversations: unknown[];
      nextCursor: string;
    };
    expect(page.conversations).toHaveLength(1);
    const nextPage = await d.api(`/conversations?limit=1&cursor=${encodeURIComponent(page.nextCursor)}`);
    expect(nextPage.status).toBe(200);
    const bogus = await d.api("/conversations?cursor=bogus");
    expect(bogus.status).toBe(400);
    expect(await bogus.json()).toMatchObject({ code: "STORE_INVALID_CURSOR" });
  });

  test("close ends a conversation: later turns are refused with 409", async () => {
    const { conversationId, events } = await chat({ message: "to be closed" });
    await readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed");
    expect(await (await post(`/conversations/${conversationId}/close`, {})).json()).toEqual({
      conversationId,
      abortedTurn: false,
    });
    const again = await post("/chat", { conversationId, message: "still there?" });
    expect(again.status).toBe(409);
  });
});

describe("errors", () => {
  test("400 names the bad field; invalid JSON is 400; 413 past the body cap", async () => {
    const missing = await post("/chat", { model: "local/echo" });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toContain("message");
    const badType = await post("/chat", { message: "x", reasoningEffort: 3 });
    expect(((await badType.json()) as { error: string }).error).toContain("reasoningEffort");
    const notJson = await d.api("/chat", { method: "POST", body: "{nope" });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: "PROTOCOL_INVALID_JSON" });
    const big = await post("/chat", { message: "x".repeat(MAX_BODY + 1) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: "HTTP_BODY_TOO_LARGE" });
  });

  test("404 for unknown conversations and routes, 405 for a wrong method; never a stack trace", async () => {
    // (The history of an id with no chunks is an empty conversation, PROTOCOL.md §6: 200, not 404.)
    expect(await (await d.api("/conversations/nope")).json()).toEqual({ chunks: [], latestSeq: 0 });
    for (const path of ["/conversations/nope/status", "/conversations/nope/model"]) {
      const res = await d.api(path);
      expect(res.status).toBe(404);
      expect(Object.keys((await res.json()) as object).sort()).toEqual(["code", "error"]);
    }
    expect((await post("/conversations/nope/stop", {})).status).toBe(404);
    const route = await d.api("/nowhere");
    expect(route.status).toBe(404);
    const method = await d.api("/health", { method: "DELETE" });
    expect(method.status).toBe(405);
    expect(method.headers.get("allow")).toContain("GET");
  });

  test("401 without a token or with a wrong one; 403 for a foreign Host or Origin", async () => {
    const none = await d.api("/models", { auth: false });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: "POLICY_TOKEN_REQUIRED" });
    // /health is public on loopback, but a wrong token is still refused.
    expect((await d.api("/health", { auth: false })).status).toBe(200);
    const wrong = await d.api("/health", { headers: { authorization: "Bearer wrong-token" } });
    expect(wrong.status).toBe(401);
    const host = await d.api("/health", { headers: { host: "evil.example" } });
    expect(host.status).toBe(403);
    expect(await host.json()).toMatchObject({ code: "POLICY_BAD_HOST" });
    const origin = await d.api("/health", { headers: { origin: "http://evil.example" } });
    expect(origin.status).toBe(403);
    expect(origin.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("CORS: preflight and responses echo an allowed origin, never *", async () => {
    const origin = "http://localhost:24204";
    const pre = await d.api("/chat", {
      method: "OPTIONS",
      auth: false,
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
    expect(pre.headers.get("access-control-allow-methods")).toContain("DELETE");
    expect(pre.headers.get("access-control-allow-headers")).toContain("Authorization");
    // The existing frontend sends no token from an allowed origin (compat).
    const res = await d.api("/health", { auth: false, headers: { origin } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  });
});

test("SIGTERM: closes sockets with 1001, exits 0 and removes daemon.json and the lock", async () => {
  const ws = new WsClient(`ws://127.0.0.1:${d.info.wsPort}`, [`dispatch.token.${d.token}`]);
  await ws.next((f) => f.type === "catalog", "the catalog frame");
  expect(await d.stop()).toBe(0);
  expect((await withTimeout(ws.closed, 5_000, "the socket to close")).code).toBe(1001);
  expect(existsSync(join(d.home, "daemon.json"))).toBe(false);
  expect(existsSync(join(d.home, "daemon.lock"))).toBe(false);
  // The database was closed: SQLite folds the write-ahead log back in and removes it.
  expect(existsSync(join(d.home, "dispatch.db-wal"))).toBe(false);
  expect(d.stderr.text).not.toContain(d.token);
  const log = await Bun.file(join(d.home, "logs", "daemon.log")).text();
  expect(log).toContain('"msg":"stopped"');
  expect(log).not.toContain(d.token);
});
