/**
 * Relays end to end (PROTOCOL.md §8 "Relays"): a real redis-server, one daemon publishing to it and
 * two `dispatch relay` subprocesses. Viewers on both relays see the same live turn; a relay is
 * SIGKILLed mid-turn and its viewer resumes on the other with no gap and no duplicate; an SSE viewer
 * moves between the relays (Last-Event-ID) and on to long-polls (`after`) losing nothing; a revoked
 * share closes viewers on both relays with 4403; a relay refuses every owner operation; Redis going
 * away mid-turn never breaks the local turn.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type RunningTestDaemon,
  reap,
  startDaemon,
  tempHome,
  WsClient,
  writeConfig,
} from "@dispatch/daemon/test-support";
import { httpRoutes } from "@dispatch/protocol";
import { haveRedis, type RedisServer, startRedisServer, uniquePrefix, withTimeout } from "@dispatch/testkit";
import { type SseEvent, SseParser } from "./support/deps";
import { type RelayProc, startRelayProc } from "./support/relay";

type Frame = Record<string, unknown>;

describe.skipIf(!haveRedis)("two relays over one Redis", () => {
  let redis: RedisServer;
  let daemon: RunningTestDaemon;
  let owner: WsClient;
  const relays: RelayProc[] = [];
  const prefix = uniquePrefix("relay");
  const C = crypto.randomUUID();
  let secret = "";
  let shareId = "";
  let home = "";

  async function connectOwner(): Promise<void> {
    owner = new WsClient(`ws://127.0.0.1:${daemon.info.wsPort}`, [`dispatch.token.${daemon.token}`]);
    await owner.next((f) => f.type === "catalog", "the owner's catalog");
    owner.ws.send(JSON.stringify({ type: "hello", protocol: 2 }));
    await owner.next((f) => f.type === "hello", "the owner's hello");
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    home = await tempHome();
    await writeConfig(
      home,
      `[providers.local]\ndelayMs = 40\n\n[relay]\nredis = "${redis.url}"\nprefix = "${prefix}"\n`,
    );
    daemon = await startDaemon(home);
    await connectOwner();
    // A first turn so the conversation exists, then a share of it.
    await turnAndSeal("first");
    const res = await daemon.api(`/conversations/${C}/shares`, { method: "POST", body: "{}" });
    expect(res.status).toBe(201);
    ({ secret, shareId } = (await res.json()) as { secret: string; shareId: string });
    relays.push(await startRelayProc(redis.url, prefix), await startRelayProc(redis.url, prefix));
  }, 60_000);

  afterAll(async () => {
    for (const r of relays) r.proc.kill("SIGKILL");
    owner?.ws.close();
    reap(daemon);
    await redis?.stop();
  });

  let sent = 0;
  function send(message: string): void {
    owner.ws.send(
      JSON.stringify({
        type: "chat.send",
        conversationId: C,
        model: "local/echo",
        message,
        id: `m${++sent}`,
      }),
    );
  }
  async function turnAndSeal(message: string): Promise<void> {
    owner.ws.send(JSON.stringify({ type: "chat.subscribe", conversationId: C }));
    const before = owner.frames.length;
    send(message);
    await owner.next(
      (f) =>
        owner.frames.indexOf(f) >= before &&
        f.type === "chat.delta" &&
        (f.event as Frame).type === "turn-sealed",
      `the seal of turn "${message}"`,
      30_000,
    );
  }

  async function viewer(port: number, resume?: { turnId: string; n: number }): Promise<WsClient> {
    const c = new WsClient(`ws://127.0.0.1:${port}`, [`dispatch.share.${secret}`]);
    c.ws.onerror = () => {};
    await c.next((f) => f.type === "catalog", "the relay's first frame");
    c.ws.send(JSON.stringify({ type: "hello", protocol: 2, id: "h" }));
    const hello = await c.next((f) => f.type === "hello", "the relay's hello");
    expect(hello.share).toEqual({ shareId, conversationId: C });
    c.ws.send(
      JSON.stringify({ type: "chat.subscribe", conversationId: C, id: "sub", ...(resume ? { resume } : {}) }),
    );
    await c.next((f) => f.replyTo === "sub", "the subscribe ack");
    return c;
  }
  const deltas = (c: WsClient) =>
    c.frames
      .filter((f) => f.type === "chat.delta")
      .map((f) => ({
        turnId: (f.event as Frame).turnId as string,
        n: f.n as number,
        type: (f.event as Frame).type,
      }));

  test("viewers on both relays see the same live turn; a SIGKILLed relay's viewer resumes on the other exactly", async () => {
    const [a, b] = relays as [RelayProc, RelayProc];
    try {
      await movedViewerResumes(a, b);
    } finally {
      // The later tests need two relays, whatever happened here.
      if (a.proc.exitCode !== null || a.proc.signalCode !== null)
        relays[0] = await startRelayProc(redis.url, prefix);
    }
  }, 90_000);

  async function movedViewerResumes(a: RelayProc, b: RelayProc): Promise<void> {
    const onA = await viewer(a.port);
    const onB = await viewer(b.port);
    const ownerStart = owner.frames.length;
    send("a long answer ".repeat(30));
    // Some of the turn reaches the viewer on A, then A dies.
    await onA.next((f) => f.type === "chat.delta" && (f.n as number) >= 8, "eight events on relay A", 20_000);
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    const seen = deltas(onA);
    const last = seen.at(-1) as { turnId: string; n: number };
    const moved = await viewer(b.port, { turnId: last.turnId, n: last.n });
    await moved.next(
      (f) => f.type === "chat.delta" && (f.event as Frame).type === "turn-sealed",
      "the seal on relay B (moved viewer)",
      30_000,
    );
    await onB.next(
      (f) => f.type === "chat.delta" && (f.event as Frame).type === "turn-sealed",
      "the seal on relay B",
      30_000,
    );

    const ownerTurn = owner.frames
      .slice(ownerStart)
      .filter((f) => f.type === "chat.delta" && (f.event as Frame).turnId === last.turnId)
      .map((f) => f.n as number);
    const onBTurn = deltas(onB)
      .filter((d) => d.turnId === last.turnId)
      .map((d) => d.n);
    const stitched = [
      ...seen.filter((d) => d.turnId === last.turnId).map((d) => d.n),
      ...deltas(moved)
        .filter((d) => d.turnId === last.turnId)
        .map((d) => d.n),
    ];
    expect(onBTurn).toEqual(ownerTurn);
    expect(stitched).toEqual(ownerTurn);
    moved.ws.close();
    onB.ws.close();
    onA.ws.close();
  }

  test("a relay refuses every owner operation", async () => {
    const r = relays[1] as RelayProc;
    const c = await viewer(r.port);
    c.ws.send(JSON.stringify({ type: "chat.send", conversationId: C, message: "hi", id: "x" }));
    const refused = await c.next((f) => f.replyTo === "x", "the refusal of chat.send");
    expect(refused.code).toBe("FORBIDDEN");
    c.ws.close();
    // Every route the daemon keeps for its owner (GET /metrics is the relay's own, about the relay).
    for (const route of httpRoutes.filter((x) => x.role === "owner" && x.path !== "/metrics")) {
      const path = route.path.replace(/\{[^}]+\}/g, (p) => (p === "{id}" ? C : "x"));
      const init = {
        method: route.method.toUpperCase(),
        headers: { authorization: `Share ${secret}`, "content-type": "application/json" },
      };
      const res = await fetch(
        `http://127.0.0.1:${r.port}${path}`,
        route.method === "get" ? init : { ...init, body: "{}" },
      );
      expect([403, 404]).toContain(res.status);
      if (res.status === 403) expect(((await res.json()) as Frame).code).toBe("FORBIDDEN");
      const bare = await fetch(`http://127.0.0.1:${r.port}${path}`, { method: route.method.toUpperCase() });
      expect([401, 404]).toContain(bare.status);
    }
    const history = await fetch(`http://127.0.0.1:${r.port}/conversations/${C}`, {
      headers: { authorization: `Share ${secret}` },
    });
    expect(history.status).toBe(200);
    expect(((await history.json()) as { chunks: unknown[] }).chunks.length).toBeGreaterThan(0);
    const owned = await fetch(`http://127.0.0.1:${r.port}/conversations/${C}`, {
      headers: { authorization: `Bearer ${daemon.token}` },
    });
    expect(owned.status).toBe(401);
  }, 60_000);

  /** SSE of C from a relay, from `lastId` on, until `enough` numbered events came (or the seal); then cut. */
  async function sseFrom(port: number, lastId: string | undefined, enough: number) {
    const ac = new AbortController();
    const res = await fetch(
      `http://127.0.0.1:${port}/events?channel=${encodeURIComponent(`conversation:${C}`)}`,
      {
        headers: {
          authorization: `Share ${secret}`,
          accept: "text/event-stream",
          "dispatch-protocol": "2",
          ...(lastId === undefined ? {} : { "last-event-id": lastId }),
        },
        signal: ac.signal,
      },
    );
    expect(res.status).toBe(200);
    const parser = new SseParser();
    const got: { n: number; type: string; turnId: string }[] = [];
    let last = lastId;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const timer = setTimeout(() => ac.abort(), 20_000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const e of parser.push(decoder.decode(value, { stream: true })) as SseEvent[]) {
          const f = JSON.parse(e.data) as { type: string; n?: number; event?: Frame };
          if (f.type !== "chat.delta" || f.n === undefined || e.id === undefined) continue;
          last = e.id;
          got.push({ n: f.n, type: String(f.event?.type), turnId: String(f.event?.turnId) });
        }
        if (got.length >= enough || got.some((x) => x.type === "turn-sealed")) break;
      }
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
    return { got, last };
  }

  test("SSE and long-poll: a viewer moving between the relays mid-turn gets every event once", async () => {
    const [a, b] = relays as [RelayProc, RelayProc];
    const ownerStart = owner.frames.length;
    send("an answer followed over plain HTTP ".repeat(25));
    // The turn's first event reaches the owner; viewers then pick it up through the relays.
    const first = await owner.next(
      (f) => owner.frames.indexOf(f) >= ownerStart && f.type === "chat.delta",
      "the new turn's first event on the daemon",
    );
    const turnId = (first.event as Frame).turnId as string;
    const seen: number[] = [];
    const one = await sseFrom(a.port, undefined, 4);
    const two = await sseFrom(b.port, one.last, 4);
    for (const x of [...one.got, ...two.got]) if (x.turnId === turnId) seen.push(x.n);
    // Then long-polls, alternating between the relays, from the SSE stream's last position.
    let cursor = (two.last as string).slice(C.length + 1);
    let sealed = [...one.got, ...two.got].some((x) => x.type === "turn-sealed" && x.turnId === turnId);
    for (let round = 0; !sealed; round++) {
      expect(round).toBeLessThan(500);
      const port = round % 2 === 0 ? a.port : b.port;
      const res = await fetch(
        `http://127.0.0.1:${port}/conversations/${C}/events?after=${encodeURIComponent(cursor)}&waitMs=5000&protocol=2`,
        { headers: { authorization: `Share ${secret}` } },
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { events: { event: Frame; n?: number }[]; cursor: string | null };
      for (const e of body.events) {
        if (e.n === undefined || e.event.turnId !== turnId) continue;
        seen.push(e.n);
        if (e.event.type === "turn-sealed") sealed = true;
      }
      if (body.cursor !== null) cursor = body.cursor;
    }
    const ownerTurn = owner.frames
      .slice(ownerStart)
      .filter((f) => f.type === "chat.delta" && (f.event as Frame).turnId === turnId)
      .map((f) => f.n as number);
    expect(seen.length).toBeGreaterThan(8);
    expect(seen).toEqual(ownerTurn);
  }, 90_000);

  test("owner offline: viewers are told, keep the history, and continue live when it is back", async () => {
    const r = relays[1] as RelayProc;
    const c = await viewer(r.port);
    const presence = (owner: string, after: number, what: string) =>
      c.next(
        (f) => c.frames.indexOf(f) >= after && f.type === "conversation.presence" && f.owner === owner,
        what,
        15_000,
      );
    await presence("online", 0, "presence: owner online");
    const mark = c.frames.length;
    owner.ws.close();
    await daemon.stop();
    await presence("offline", mark, "presence: owner offline after the daemon stopped");
    const history = await fetch(`http://127.0.0.1:${r.port}/conversations/${C}`, {
      headers: { authorization: `Share ${secret}` },
    });
    expect(history.status).toBe(200);
    expect(((await history.json()) as { chunks: unknown[] }).chunks.length).toBeGreaterThan(0);

    daemon = await startDaemon(home);
    await connectOwner();
    const back = c.frames.length;
    await presence("online", back, "presence: owner online again");
    await turnAndSeal("back again");
    await c.next(
      (f) =>
        c.frames.indexOf(f) >= back && f.type === "chat.delta" && (f.event as Frame).type === "turn-sealed",
      "the new turn live on the relay",
      30_000,
    );
    c.ws.close();
  }, 90_000);

  test("Redis restarted mid-turn: the relay's viewer still gets the whole turn, each event once", async () => {
    const r = relays[1] as RelayProc;
    const c = await viewer(r.port);
    const ownerStart = owner.frames.length;
    const mark = c.frames.length;
    send("an answer across a Redis restart ".repeat(20));
    await c.next(
      (f) => c.frames.indexOf(f) >= mark && f.type === "chat.delta" && (f.n as number) >= 5,
      "five events before the restart",
      20_000,
    );
    await redis.kill();
    await Bun.sleep(300); // Redis stays away for a moment while the turn goes on
    await redis.start();
    const sealed = await c.next(
      (f) =>
        c.frames.indexOf(f) >= mark && f.type === "chat.delta" && (f.event as Frame).type === "turn-sealed",
      "the seal after the restart",
      30_000,
    );
    const turnId = (sealed.event as Frame).turnId;
    const ownerTurn = owner.frames
      .slice(ownerStart)
      .filter((f) => f.type === "chat.delta" && (f.event as Frame).turnId === turnId)
      .map((f) => f.n);
    const viewerTurn = c.frames
      .slice(mark)
      .filter((f) => f.type === "chat.delta" && (f.event as Frame).turnId === turnId)
      .map((f) => f.n);
    expect(viewerTurn).toEqual(ownerTurn);
    c.ws.close();
  }, 60_000);

  test("--connections-per-address caps one address's open connections", async () => {
    const capped = await startRelayProc(redis.url, prefix, ["--connections-per-address", "1"]);
    relays.push(capped);
    const poll = () =>
      fetch(`http://127.0.0.1:${capped.port}/conversations/${C}/events?waitMs=0&protocol=2`, {
        headers: { authorization: `Share ${secret}` },
      });
    const held = await viewer(capped.port);
    const refused = await poll();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { code: string }).code).toBe("RELAY_TOO_MANY_CONNECTIONS");
    held.ws.close();
    await held.closed;
    // The slot is released when the relay sees the close: poll until it admits again.
    const admitted = await withTimeout(
      (async () => {
        for (;;) {
          const res = await poll();
          if (res.status !== 429) return res.status;
          await Bun.sleep(20);
        }
      })(),
      5_000,
      "the capped relay to admit a connection again after the viewer closed",
    );
    expect(admitted).toBe(200);
  }, 30_000);

  test("revoking the share closes its viewers on both relays with 4403", async () => {
    const [a, b] = relays as [RelayProc, RelayProc];
    const onA = await viewer(a.port);
    const onB = await viewer(b.port);
    const res = await daemon.api(`/shares/${shareId}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const [ca, cb] = await withTimeout(
      Promise.all([onA.closed, onB.closed]),
      5_000,
      "both relays to close the viewers",
    );
    expect(ca.code).toBe(4403);
    expect(cb.code).toBe(4403);
    const again = await fetch(`http://127.0.0.1:${a.port}/conversations/${C}`, {
      headers: { authorization: `Share ${secret}` },
    });
    expect(again.status).toBe(401);
  }, 30_000);

  test("Redis going away mid-turn never breaks a local turn", async () => {
    await redis.kill();
    await turnAndSeal("while Redis is down");
    const metrics = await (await daemon.api("/metrics")).text();
    expect(metrics).toMatch(/dispatch_relay_redis_up 0/);
    await redis.start();
  }, 60_000);
});
