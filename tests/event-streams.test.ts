/**
 * Watching over plain HTTP (PROTOCOL.md §8) against the real daemon subprocess: `fetch` SSE readers and
 * long-pollers follow a turn of the offline model while the test cuts their connections mid-turn, and
 * must end with every event exactly once, in order; bad input gets clear coded errors; limits hold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaemonProcess, localModelToml } from "./support/daemon";
import { type AgentEvent, type SseEvent, SseParser } from "./support/deps";
import { WAIT_MS } from "./support/wait";

/** A turn of the offline model slow enough to cut connections in the middle of. */
const slow = (ms: number, words: number, text: string) => `/slow ${ms}\n/long ${words}\n${text}`;

let d: DaemonProcess;
beforeAll(async () => {
  d = await DaemonProcess.start({
    toml: localModelToml(0, "[http.streams]\nmaxPerAddress = 6\nkeepAliveSec = 1\n"),
  });
});
afterAll(async () => {
  await d?.dispose();
});

const auth = () => ({ Authorization: `Bearer ${d.token}` });

/** Starts a turn over POST /chat; resolves with every event of its NDJSON stream. */
async function startTurn(conversationId: string, message: string): Promise<{ all: Promise<AgentEvent[]> }> {
  const res = await fetch(`${d.httpUrl}/chat`, {
    method: "POST",
    headers: { ...auth(), "Content-Type": "application/json", "Dispatch-Protocol": "2" },
    body: JSON.stringify({ conversationId, message }),
  });
  expect(res.status).toBe(200);
  const all = res.text().then((t) =>
    t
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as AgentEvent),
  );
  return { all };
}

interface Delta {
  event: AgentEvent;
  n?: number;
}

/**
 * Reads an SSE stream until `stop(events so far)` says so or `turn-sealed` of `cid` arrives; then cuts
 * the connection (abort). Resolves with the events and the last id seen.
 */
async function readSse(
  url: string,
  headers: Record<string, string>,
  stop: (got: SseEvent[]) => boolean,
  sealedOf?: string,
  onOpen?: () => void,
): Promise<{ events: SseEvent[]; lastId?: string; sealed: boolean }> {
  const ac = new AbortController();
  const res = await fetch(url, {
    headers: { ...auth(), Accept: "text/event-stream", ...headers },
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  // The headers come once the stream is subscribed: what happens from now on reaches it.
  onOpen?.();
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let lastId: string | undefined;
  let sealed = false;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const timer = setTimeout(() => ac.abort(), WAIT_MS);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const e of parser.push(decoder.decode(value, { stream: true }))) {
        events.push(e);
        if (e.id !== undefined) lastId = e.id;
        const f = JSON.parse(e.data) as { type: string; event: AgentEvent };
        if (sealedOf !== undefined && f.event.type === "turn-sealed" && f.event.conversationId === sealedOf)
          sealed = true;
      }
      if (sealed || stop(events)) break;
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return lastId === undefined ? { events, sealed } : { events, lastId, sealed };
}

const deltas = (events: SseEvent[]): Delta[] => events.map((e) => JSON.parse(e.data) as Delta);
const numbered = (ds: Delta[]) => ds.filter((x) => x.n !== undefined && x.event.type !== "status");

describe("SSE", () => {
  test("follows a turn across forced reconnects (Last-Event-ID): no gap, no duplicate", async () => {
    const cid = crypto.randomUUID();
    const turn = await startTurn(cid, slow(15, 40, "across sse reconnects"));
    const url = `${d.httpUrl}/events?channel=conversation:${cid}`;
    const seen: Delta[] = [];
    let lastId: string | undefined;
    let sealed = false;
    let cuts = 0;
    while (!sealed) {
      const r = await readSse(
        url,
        { "Dispatch-Protocol": "2", ...(lastId === undefined ? {} : { "Last-Event-ID": lastId }) },
        (got) => numbered(deltas(got)).length >= 5, // cut after every five events
        cid,
      );
      seen.push(...deltas(r.events));
      lastId = r.lastId ?? lastId;
      sealed = r.sealed;
      cuts++;
    }
    const all = (await turn.all).filter((e) => e.type !== "status");
    const got = numbered(seen);
    expect(cuts).toBeGreaterThan(2);
    expect(got.map((x) => x.n)).toEqual(all.map((_, i) => i + 1));
    expect(got.map((x) => x.event)).toEqual(all);
    // The ids are <conversationId>:<turnId>:<n>.
    expect(lastId).toBe(`${cid}:${all[0]?.turnId}:${all.length}`);
  }, 60_000);

  test("level 1 by default: only the original event types", async () => {
    const cid = crypto.randomUUID();
    let turn: Promise<unknown> | undefined;
    const r = await readSse(
      `${d.httpUrl}/events?channel=conversation:${cid}`,
      {},
      () => false,
      cid,
      () => {
        turn = startTurn(cid, "level one over sse").then((t) => t.all);
      },
    );
    await turn;
    const types = new Set(deltas(r.events).map((x) => x.event.type));
    expect(types.has("turn-sealed")).toBe(true);
    expect(types.has("user-message")).toBe(false);
    expect(types.has("step-complete")).toBe(false);
  }, 30_000);

  test("conversation:* follows every conversation, one started after it subscribed included", async () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const started: Promise<unknown>[] = [];
    const r = readSse(
      `${d.httpUrl}/events?channel=${encodeURIComponent("conversation:*")}&protocol=2`,
      {},
      (got) => {
        const sealedIn = new Set(
          deltas(got)
            .filter((x) => x.event.type === "turn-sealed")
            .map((x) => x.event.conversationId),
        );
        return sealedIn.has(a) && sealedIn.has(b);
      },
      undefined,
      () => {
        started.push(startTurn(a, "first of two").then((t) => t.all));
        started.push(startTurn(b, "second of two").then((t) => t.all));
      },
    );
    const got = deltas((await r).events);
    await Promise.all(started);
    for (const cid of [a, b]) {
      const mine = numbered(got.filter((x) => x.event.conversationId === cid));
      expect(mine.map((x) => x.n)).toEqual(mine.map((_, i) => i + 1));
      expect(mine[0]?.event.type).toBe("user-message");
    }
  }, 30_000);

  test("conversation:* across forced reconnects: every conversation's events once, turns sealed meanwhile too", async () => {
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const turns = await Promise.all([
      startTurn(ids[0] as string, slow(10, 30, "the first of three")),
      startTurn(ids[1] as string, slow(25, 20, "the second of three")),
      startTurn(ids[2] as string, slow(5, 12, "the third of three")),
    ]);
    const url = `${d.httpUrl}/events?channel=${encodeURIComponent("conversation:*")}`;
    const mine = new Set<string>(ids);
    const seen: Delta[] = [];
    const sealed = new Set<string>();
    let lastId: string | undefined;
    let cuts = 0;
    while (sealed.size < ids.length) {
      expect(cuts).toBeLessThan(200);
      const before = seen.length;
      const r = await readSse(
        url,
        { "Dispatch-Protocol": "2", ...(lastId === undefined ? {} : { "Last-Event-ID": lastId }) },
        (got) => numbered(deltas(got)).length >= 7, // cut after every seven events, whoever's
      );
      for (const x of deltas(r.events)) {
        if (!mine.has(x.event.conversationId)) continue;
        seen.push(x);
        if (x.event.type === "turn-sealed") sealed.add(x.event.conversationId);
      }
      lastId = r.lastId ?? lastId;
      cuts++;
      // Away for a moment: the turns go on (and may end) while nobody listens.
      if (seen.length > before) await Bun.sleep(40);
    }
    expect(cuts).toBeGreaterThan(3);
    // Ids of a wildcard stream carry the place on the daemon's event clock.
    expect(lastId).toMatch(/:\d+@[0-9a-f]+\.\d+$/);
    for (const [i, cid] of ids.entries()) {
      const all = (await (turns[i] as { all: Promise<AgentEvent[]> }).all).filter((e) => e.type !== "status");
      const got = numbered(seen.filter((x) => x.event.conversationId === cid));
      expect(got.map((x) => x.n)).toEqual(all.map((_, k) => k + 1));
      expect(got.map((x) => x.event)).toEqual(all);
    }
  }, 60_000);

  test("conversation:* while a permission request is pending: it arrives once", async () => {
    const cid = crypto.randomUUID();
    const cwd = await mkdtemp(join(tmpdir(), "dispatch-sse-perm-"));
    const turn = fetch(`${d.httpUrl}/chat`, {
      method: "POST",
      headers: { ...auth(), "Content-Type": "application/json", "Dispatch-Protocol": "2" },
      body: JSON.stringify({
        conversationId: cid,
        cwd,
        message: `/tool run_shell ${JSON.stringify({ command: "true" })}`,
      }),
    });
    const url = `${d.httpUrl}/events?channel=${encodeURIComponent("conversation:*")}`;
    const requestsIn = (events: SseEvent[]) =>
      deltas(events).filter((x) => x.event.type === "permission-request" && x.event.conversationId === cid);
    // A fresh stream: the running turn's replay holds the request; the hub's re-send of it is dropped.
    // It is read on for a while after the request (keep-alive comments wake the reader every second).
    let seenAt = 0;
    const fresh = await readSse(url, { "Dispatch-Protocol": "2" }, (got) => {
      if (seenAt === 0 && requestsIn(got).length > 0) seenAt = Date.now();
      return seenAt > 0 && Date.now() - seenAt > 1_200;
    });
    expect(requestsIn(fresh.events).length).toBe(1);
    const requestId =
      (requestsIn(fresh.events)[0] as Delta).event.type === "permission-request"
        ? ((requestsIn(fresh.events)[0] as Delta).event as { requestId: string }).requestId
        : "";
    const answer = await fetch(`${d.httpUrl}/conversations/${cid}/permissions/${requestId}`, {
      method: "POST",
      headers: { ...auth(), "Content-Type": "application/json" },
      body: JSON.stringify({ decision: "deny" }),
    });
    expect(answer.status).toBeLessThan(300);
    await (await turn).text();
  }, 30_000);

  test("a quiet stream gets keep-alive comments", async () => {
    const res = await fetch(`${d.httpUrl}/events?channel=conversation:quiet`, {
      headers: { ...auth(), Accept: "text/event-stream" },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes(": keep-alive")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain(": keep-alive");
    await reader.cancel();
  }, 15_000);

  test("bad input: each a clear coded 400", async () => {
    const cases: [string, Record<string, string>, string][] = [
      ["/events?channel=conversation:", {}, "CHANNEL_INVALID"],
      ["/events?channel=**", {}, "CHANNEL_UNKNOWN_PREFIX"],
      [`/events?channel=conversation:${"x".repeat(10_000)}`, {}, "CHANNEL_TOO_LONG"],
      ["/events", {}, "STREAM_MISSING_CHANNEL"],
      ["/events?channel=conversation:c", { "Last-Event-ID": "garbage" }, "STREAM_INVALID_EVENT_ID"],
      ["/events?channel=conversation:c", { "Dispatch-Protocol": "7" }, "HTTP_UNSUPPORTED_PROTOCOL"],
      ["/conversations/c/events?waitMs=30001", {}, "STREAM_INVALID_WAIT"],
      ["/conversations/c/events?waitMs=-5", {}, "STREAM_INVALID_WAIT"],
      ["/conversations/c/events?after=nonsense", {}, "STREAM_INVALID_CURSOR"],
    ];
    for (const [path, headers, code] of cases) {
      const res = await fetch(`${d.httpUrl}${path}`, { headers: { ...auth(), ...headers } });
      const body = (await res.json()) as { code: string; error: string };
      expect({ path: path.slice(0, 60), status: res.status, code: body.code }).toEqual({
        path: path.slice(0, 60),
        status: 400,
        code,
      });
      expect(body.error.length).toBeGreaterThan(10);
    }
    const res = await fetch(`${d.httpUrl}/events?channel=conversation:c`, {
      headers: { ...auth(), Accept: "application/json" },
    });
    expect(res.status).toBe(406);
  });

  test("open streams per address are limited (429)", async () => {
    const open: AbortController[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const ac = new AbortController();
      open.push(ac);
      const res = await fetch(`${d.httpUrl}/events?channel=conversation:limit`, {
        headers: { ...auth(), Accept: "text/event-stream" },
        signal: ac.signal,
      });
      statuses.push(res.status);
      if (res.status !== 200) expect(((await res.json()) as { code: string }).code).toBe("STREAM_TOO_MANY");
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    for (const ac of open) ac.abort();
    // Released once cut: a new stream is admitted again.
    const again = await (async () => {
      for (let i = 0; i < 50; i++) {
        const ac = new AbortController();
        const res = await fetch(`${d.httpUrl}/events?channel=conversation:limit`, {
          headers: { ...auth(), Accept: "text/event-stream" },
          signal: ac.signal,
        });
        ac.abort();
        if (res.status === 200) return 200;
        await Bun.sleep(20);
      }
      return 429;
    })();
    expect(again).toBe(200);
  });
});

describe("long-poll", () => {
  async function poll(cid: string, after: string | null, waitMs: number, signal?: AbortSignal) {
    const q = new URLSearchParams({ waitMs: String(waitMs), protocol: "2" });
    if (after !== null) q.set("after", after);
    const res = await fetch(`${d.httpUrl}/conversations/${cid}/events?${q}`, { headers: auth(), signal });
    expect(res.status).toBe(200);
    return (await res.json()) as { events: Delta[]; cursor: string | null };
  }

  test("follows a turn with cut polls in between: no gap, no duplicate", async () => {
    const cid = crypto.randomUUID();
    const turn = await startTurn(cid, slow(15, 40, "across long polls"));
    const seen: Delta[] = [];
    let cursor: string | null = null;
    let round = 0;
    while (!seen.some((x) => x.event.type === "turn-sealed")) {
      if (++round % 3 === 0) {
        // A poll cut mid-wait (the client gave up): its answer is lost, nothing else is.
        const ac = new AbortController();
        const p = poll(cid, cursor, 10_000, ac.signal).catch(() => undefined);
        ac.abort();
        await p;
      }
      const r = await poll(cid, cursor, 5000);
      seen.push(...r.events);
      cursor = r.cursor ?? cursor;
      if (round > 500) throw new Error("the turn never ended");
    }
    const all = (await turn.all).filter((e) => e.type !== "status");
    expect(seen.map((x) => x.n)).toEqual(all.map((_, i) => i + 1));
    expect(seen.map((x) => x.event)).toEqual(all);
    expect(round).toBeGreaterThan(2);
  }, 60_000);

  test("nothing newer: waits, then answers the same cursor with no events", async () => {
    const cid = crypto.randomUUID();
    const turn = await startTurn(cid, "short");
    const events = await turn.all;
    const last = events.filter((e) => e.type !== "status");
    const cursor = `${last[0]?.turnId}:${last.length}`;
    const r = await poll(cid, cursor, 300);
    expect(r).toEqual({ events: [], cursor });
    // waitMs=0 answers at once, whatever there is.
    expect((await poll(cid, `${last[0]?.turnId}:0`, 0)).events.length).toBe(last.length);
  });
});
