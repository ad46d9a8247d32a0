/**
 * Share links end to end (PROTOCOL.md §8): a real daemon, real WebSockets and HTTP. A viewer watches a
 * live turn, is refused every owner operation (WebSocket and every HTTP route) and every other
 * conversation with the same answer whether it exists or not, is closed with 4403 on revoke and at
 * expiry; wrong secrets get clear errors and are rate-limited; shares survive a restart; the secret
 * is never logged.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningTestDaemon, reap, startDaemon, tempHome, WsClient } from "@dispatch/daemon/test-support";
import { httpRoutes } from "@dispatch/protocol";
import { withTimeout } from "@dispatch/testkit";

type Frame = Record<string, unknown>;
interface Created {
  shareId: string;
  secret: string;
  url: string;
  expiresAt: number;
}

let home: string;
let daemon: RunningTestDaemon;
let owner: WsClient;
const A = crypto.randomUUID();
const B = crypto.randomUUID();
const UNKNOWN = crypto.randomUUID();
const secrets: string[] = [];

const ws = () => `ws://127.0.0.1:${daemon.info.wsPort}`;

async function share(conversationId: string, body: unknown = {}): Promise<Created> {
  const res = await daemon.api(`/conversations/${conversationId}/shares`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  const created = (await res.json()) as Created;
  secrets.push(created.secret);
  return created;
}

/** A viewer connection: greeted at level 2, its hello reply in hand. */
async function viewer(secret: string): Promise<{ c: WsClient; hello: Frame }> {
  const c = new WsClient(ws(), [`dispatch.share.${secret}`]);
  await withTimeout(
    new Promise((resolve, reject) => {
      c.ws.onopen = resolve;
      c.ws.onerror = () => reject(new Error("viewer upgrade refused"));
    }),
    10_000,
    "the viewer's upgrade",
  );
  c.ws.send(JSON.stringify({ type: "hello", protocol: 2, id: "h" }));
  const hello = await c.next((f) => f.type === "hello", "the viewer's hello reply");
  return { c, hello };
}

const viewerGet = (path: string, secret: string, init: RequestInit = {}) =>
  fetch(`${daemon.base}${path}`, {
    ...init,
    headers: {
      authorization: `Share ${secret}`,
      "content-type": "application/json",
      ...(init.headers as Record<string, string> | undefined),
    },
  });

async function turn(conversationId: string, message: string, model = "local/echo"): Promise<void> {
  const id = crypto.randomUUID();
  owner.ws.send(JSON.stringify({ type: "chat.send", id, conversationId, model, message }));
  await owner.next((f) => f.replyTo === id, `the ack of the turn in ${conversationId}`);
}

const sealed = (c: WsClient, conversationId: string, after = 0) =>
  c.next(
    (f) =>
      f.type === "chat.delta" &&
      (f.event as Frame).type === "turn-sealed" &&
      (f.event as Frame).conversationId === conversationId &&
      c.frames.indexOf(f) >= after,
    `turn-sealed of ${conversationId}`,
    30_000,
  );

describe("share links", () => {
  beforeAll(async () => {
    home = await tempHome();
    daemon = await startDaemon(home, { DISPATCH_LOG_LEVEL: "debug" });
    owner = new WsClient(ws(), [`dispatch.token.${daemon.token}`]);
    await owner.next((f) => f.type === "catalog", "the owner's catalog");
    owner.ws.send(JSON.stringify({ type: "hello", protocol: 2 }));
    await owner.next((f) => f.type === "hello", "the owner's hello");
    await turn(A, "first turn in A");
    await sealed(owner, A);
    await turn(B, "a turn in B");
    await sealed(owner, B);
  });
  afterAll(async () => {
    owner?.ws.close();
    await daemon?.stop().catch(() => reap(daemon));
  });

  test("create answers 201 with the secret once; the list shows live shares, never a secret", async () => {
    const s = await share(A, { label: "for Ana", expiresInSec: 7200 });
    expect(s.url).toBe(`${daemon.base}/s/${s.shareId}#${s.secret}`);
    expect(s.secret.length).toBeGreaterThanOrEqual(43);
    expect(s.expiresAt).toBeGreaterThan(Date.now() + 7100_000);
    const list = await (await daemon.api(`/conversations/${A}/shares`)).json();
    expect(list).toEqual({
      shares: [
        {
          shareId: s.shareId,
          label: "for Ana",
          createdAt: expect.any(Number),
          expiresAt: s.expiresAt,
          viewers: 0,
        },
      ],
    });
    expect(JSON.stringify(list)).not.toContain(s.secret);
    // Bad bodies and unknown conversations: clear errors.
    const long = await daemon.api(`/conversations/${A}/shares`, {
      method: "POST",
      body: JSON.stringify({ expiresInSec: 31 * 86400 }),
    });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: string }).error).toContain("expiresInSec");
    const unknown = await daemon.api(`/conversations/${UNKNOWN}/shares`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    expect((await daemon.api("/shares/nope", { method: "DELETE" })).status).toBe(404);
  });

  test("a viewer watches a live turn; viewer counts show in the list and in presence", async () => {
    const s = await share(A);
    const { c, hello } = await viewer(s.secret);
    try {
      expect(hello.share).toEqual({ shareId: s.shareId, conversationId: A });
      expect(c.frames.find((f) => f.type === "catalog")).toEqual({ type: "catalog", catalog: [] });
      owner.ws.send(JSON.stringify({ type: "chat.subscribe", conversationId: A }));
      c.ws.send(JSON.stringify({ type: "chat.subscribe", id: "sub", conversationId: A }));
      await c.next((f) => f.replyTo === "sub", "the viewer's subscribe ack");
      await c.next(
        (f) => f.type === "conversation.presence" && f.viewers === 1,
        "presence naming one viewer",
      );
      const list = (await (await daemon.api(`/conversations/${A}/shares`)).json()) as {
        shares: { shareId: string; viewers: number }[];
      };
      expect(list.shares.find((x) => x.shareId === s.shareId)?.viewers).toBe(1);
      const from = c.frames.length;
      await turn(A, "watch this live turn please", "local/slow");
      await c.next(
        (f) => f.type === "chat.delta" && (f.event as Frame).type === "text-delta",
        "a live text-delta at the viewer",
      );
      await sealed(c, A, from);
      // History and status of its own conversation.
      const history = (await (await viewerGet(`/conversations/${A}`, s.secret)).json()) as {
        chunks: unknown[];
      };
      expect(JSON.stringify(history.chunks)).toContain("watch this live turn please");
      expect((await viewerGet(`/conversations/${A}/status`, s.secret)).status).toBe(200);
    } finally {
      c.ws.close();
    }
  });

  test("a viewer is refused every owner operation and other conversations, known or not, alike", async () => {
    const s = await share(A);
    const { c } = await viewer(s.secret);
    try {
      const ask = async (msg: Frame) => {
        const id = crypto.randomUUID();
        c.ws.send(JSON.stringify({ ...msg, id }));
        const r = await c.next((f) => f.replyTo === id, `the answer to ${String(msg.type)}`);
        const { replyTo: _, ...rest } = r;
        return rest;
      };
      for (const msg of [
        { type: "chat.send", conversationId: A, message: "hi" },
        { type: "chat.stop", conversationId: A },
        { type: "chat.queue", conversationId: A, text: "x" },
        { type: "chat.permission", conversationId: A, requestId: "p", decision: "allow" },
        { type: "invoke", surfaceId: "message-queue", actionId: "cancel", conversationId: A },
        { type: "subscribe", surfaceId: "loaded-extensions" },
      ]) {
        const r = await ask(msg);
        expect({ type: msg.type, code: r.code }).toEqual({ type: msg.type, code: "FORBIDDEN" });
        expect(r.type).toBe(msg.type.startsWith("chat.") ? "chat.error" : "error");
      }
      const known = await ask({ type: "chat.subscribe", conversationId: B });
      const unknown = await ask({ type: "chat.subscribe", conversationId: UNKNOWN });
      expect(known.code).toBe("FORBIDDEN");
      expect(JSON.stringify(known).replaceAll(B, "X")).toBe(JSON.stringify(unknown).replaceAll(UNKNOWN, "X"));
      // No frame of another conversation reached the viewer (no global broadcasts).
      expect(c.frames.filter((f) => JSON.stringify(f).includes(B))).toEqual(
        c.frames.filter((f) => f.code === "FORBIDDEN" && JSON.stringify(f).includes(B)),
      );
    } finally {
      c.ws.close();
    }
    // Every HTTP route of the table, as the viewer. The event streams name their conversation in the
    // query (a channel); the core decides the viewer's right to it like any other.
    const streams: Record<string, (cid: string) => string> = {
      "/events": (cid) => `?channel=${encodeURIComponent(`conversation:${cid}`)}`,
      "/conversations/{id}/events": () => "?waitMs=0",
    };
    for (const r of httpRoutes) {
      const stream = streams[r.path];
      for (const cid of [A, B, UNKNOWN]) {
        const path =
          r.path
            .replace("{id}", cid)
            .replace("{messageId}", "m")
            .replace("{requestId}", "p")
            .replace("{shareId}", "s") + (stream?.(cid) ?? "");
        const method = r.method.toUpperCase();
        const res = await viewerGet(path, s.secret, {
          method,
          ...(method === "GET" || method === "DELETE" ? {} : { body: "{}" }),
          ...(r.path === "/events" ? { headers: { accept: "text/event-stream" } } : {}),
        });
        if (stream !== undefined && res.ok) await res.body?.cancel();
        const allowed =
          stream !== undefined ? cid === A : r.role === "anyone" || (r.role === "conversation" && cid === A);
        const label = `${method} ${r.path} (${cid === A ? "shared" : cid === B ? "other" : "unknown"})`;
        if (allowed) expect({ label, status: res.status }).toEqual({ label, status: 200 });
        else {
          const body = (await res.json()) as { code: string; error: string };
          expect({ label, status: res.status, code: body.code }).toEqual({
            label,
            status: 403,
            code: "FORBIDDEN",
          });
        }
        if (!r.path.includes("{id}") && stream === undefined) break;
      }
    }
    const wildcard = await viewerGet(`/events?channel=${encodeURIComponent("conversation:*")}`, s.secret);
    expect(wildcard.status).toBe(403);
    // Same answer for another conversation and an unknown one.
    const other = await (await viewerGet(`/conversations/${B}`, s.secret)).json();
    const none = await (await viewerGet(`/conversations/${UNKNOWN}`, s.secret)).json();
    expect(JSON.stringify(other).replaceAll(B, "X")).toBe(JSON.stringify(none).replaceAll(UNKNOWN, "X"));
  });

  test("revocation closes live viewers with 4403 at once; further requests get 401", async () => {
    const s = await share(A);
    const { c } = await viewer(s.secret);
    const res = await daemon.api(`/shares/${s.shareId}`, { method: "DELETE" });
    expect(await res.json()).toEqual({ shareId: s.shareId, revoked: true });
    const closed = await withTimeout(c.closed, 3000, "the 4403 close after revocation");
    expect(closed).toEqual({ code: 4403, reason: "share revoked" });
    const after = await viewerGet(`/conversations/${A}`, s.secret);
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({
      code: "POLICY_BAD_SHARE",
      error: expect.stringContaining("revoked"),
    });
    const upgrade = await fetch(`http://127.0.0.1:${daemon.info.wsPort}/`, {
      headers: {
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-protocol": `dispatch.share.${s.secret}`,
      },
    });
    expect(upgrade.status).toBe(401);
    expect((await daemon.api(`/conversations/${A}/shares`)).ok).toBe(true);
    const list = (await (await daemon.api(`/conversations/${A}/shares`)).json()) as {
      shares: { shareId: string }[];
    };
    expect(list.shares.map((x) => x.shareId)).not.toContain(s.shareId);
  });

  test("revocation ends a viewer's SSE stream and its waiting long-poll at once", async () => {
    const s = await share(A);
    const sse = await viewerGet(`/events?channel=${encodeURIComponent(`conversation:${A}`)}`, s.secret, {
      headers: { accept: "text/event-stream" },
    });
    expect(sse.status).toBe(200);
    const poll = viewerGet(`/conversations/${A}/events?waitMs=30000`, s.secret);
    const counted = async () => {
      for (let i = 0; i < 100; i++) {
        const list = (await (await daemon.api(`/conversations/${A}/shares`)).json()) as {
          shares: { shareId: string; viewers: number }[];
        };
        if (list.shares.find((x) => x.shareId === s.shareId)?.viewers === 2) return;
        await Bun.sleep(50);
      }
      throw new Error("the SSE stream and the long-poll never counted as two viewers");
    };
    await counted();
    const ended = (async () => {
      const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
      for (;;) if ((await reader.read()).done) return "ended";
    })();
    await daemon.api(`/shares/${s.shareId}`, { method: "DELETE" });
    expect(await withTimeout(ended, 3000, "the SSE stream to end after revocation")).toBe("ended");
    const answered = await withTimeout(poll, 3000, "the long-poll to answer after revocation");
    expect(answered.status).toBe(200);
    const again = await viewerGet(`/events?channel=${encodeURIComponent(`conversation:${A}`)}`, s.secret, {
      headers: { accept: "text/event-stream" },
    });
    expect(again.status).toBe(401);
  });

  test("expiry closes live viewers with 4403; an expired secret is a clear 401", async () => {
    const s = await share(A, { expiresInSec: 2 });
    const { c } = await viewer(s.secret);
    const closed = await withTimeout(c.closed, 6000, "the 4403 close at expiry");
    expect(closed).toEqual({ code: 4403, reason: "share expired" });
    const res = await viewerGet(`/conversations/${A}`, s.secret);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toContain("expired");
  });

  test("forged and truncated secrets: each a clear 401; ?share= works on a GET only", async () => {
    const s = await share(A);
    const forged = await viewerGet(`/conversations/${A}`, `${s.shareId}.${"A".repeat(43)}`);
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: string }).error).toContain("not valid");
    const truncated = await viewerGet(`/conversations/${A}`, s.secret.slice(0, -5));
    expect(truncated.status).toBe(401);
    expect(((await truncated.json()) as { error: string }).error).toContain("malformed");
    const viaQuery = await fetch(
      `${daemon.base}/conversations/${A}/status?share=${encodeURIComponent(s.secret)}`,
    );
    expect(viaQuery.status).toBe(200);
    const postQuery = await fetch(
      `${daemon.base}/conversations/${A}/stop?share=${encodeURIComponent(s.secret)}`,
      {
        method: "POST",
      },
    );
    expect(postQuery.status).toBe(401);
  });

  test("a share survives a daemon restart; the secret never reaches the logs", async () => {
    const s = await share(A);
    owner.ws.close();
    const logs = `${daemon.stdout.text}\n${daemon.stderr.text}`;
    expect(await daemon.stop()).toBe(0);
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(secret.split(".")[1] as string);
    }
    daemon = await startDaemon(home);
    owner = new WsClient(ws(), [`dispatch.token.${daemon.token}`]);
    const res = await viewerGet(`/conversations/${A}`, s.secret);
    expect(res.status).toBe(200);
    const { c, hello } = await viewer(s.secret);
    expect(hello.share).toEqual({ shareId: s.shareId, conversationId: A });
    c.ws.close();
  });

  test("wrong secrets are rate-limited per address: 429 with Retry-After, even for the right one", async () => {
    const s = await share(A);
    let limited: Response | undefined;
    for (let i = 0; i < 20 && limited === undefined; i++) {
      const r = await viewerGet(`/conversations/${A}`, `${s.shareId}.${"B".repeat(43)}`);
      if (r.status === 429) limited = r;
      else expect(r.status).toBe(401);
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited?.json()).toEqual({
      code: "POLICY_SHARE_RATE_LIMITED",
      error: expect.stringContaining("too many wrong share secrets"),
    });
    expect((await viewerGet(`/conversations/${A}`, s.secret)).status).toBe(429);
    // The owner is not affected.
    expect((await daemon.api(`/conversations/${A}`)).status).toBe(200);
  });
});
