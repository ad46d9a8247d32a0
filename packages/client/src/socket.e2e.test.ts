/**
 * The reconnecting socket against a real daemon, through a proxy that cuts the connection mid-turn:
 * the consumer must see every event of the turn exactly once, in order.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { type RunningTestDaemon, reap, startDaemon, tempHome } from "@dispatch/daemon/test-support";
import type { AgentEvent } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit";
import { DispatchSocket } from "./socket";
import { type CuttableProxy, startProxy } from "./tcp-proxy.test-support";

// A daemon subprocess boots in beforeAll; a loaded machine needs more than the default 5 s.
setDefaultTimeout(30_000);

let daemon: RunningTestDaemon;
let proxy: CuttableProxy;

beforeAll(async () => {
  daemon = await startDaemon(await tempHome());
  proxy = await startProxy(daemon.info.wsPort);
});
afterAll(async () => {
  proxy?.close();
  await daemon?.stop().catch(() => reap(daemon));
});

test("a daemon-side disconnect mid-turn loses and duplicates nothing", async () => {
  const socket = new DispatchSocket({
    endpoint: { url: `ws://127.0.0.1:${proxy.port}`, token: daemon.token },
    backoff: { baseMs: 20, maxMs: 200 },
  });
  const states: string[] = [];
  socket.onState((s) => states.push(s));
  await socket.connect();
  // A watched surface is subscribed again on the new connection: its spec arrives once per connection.
  const surfaceSpecs = Promise.withResolvers<void>();
  let specs = 0;
  socket.onMessage((msg) => {
    if (msg.type === "surface" && msg.spec.id === "loaded-extensions" && ++specs === 2)
      surfaceSpecs.resolve();
  });
  await socket.subscribeSurface("loaded-extensions");

  const conversationId = crypto.randomUUID();
  const seen: { event: AgentEvent; n: number | undefined }[] = [];
  let cutDone = false;
  const sealed = Promise.withResolvers<void>();
  const some = Promise.withResolvers<void>();
  socket.addChatListener(conversationId, (event, n) => {
    seen.push({ event, n });
    if (seen.length === 15) some.resolve();
    if (event.type === "turn-sealed") sealed.resolve();
  });

  // ~120 words at 15 ms each: long enough to cut in the middle.
  await socket.request({
    type: "chat.send",
    conversationId,
    model: "local/echo",
    message: "/slow 15\n/long 120\nstream this",
  });
  await withTimeout(some.promise, 15_000, "the first 15 events of the turn");
  expect(proxy.cutAll()).toBeGreaterThan(0);
  cutDone = true;
  await withTimeout(sealed.promise, 30_000, "turn-sealed after the reconnect");
  await withTimeout(surfaceSpecs.promise, 15_000, "the surface's spec again after the reconnect");
  socket.close();

  expect(cutDone).toBe(true);
  expect(states).toContain("reconnecting");
  const turnEvents = seen.filter((s) => s.n !== undefined);
  const ns = turnEvents.map((s) => s.n);
  expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => i + 1));
  expect(turnEvents[0]?.event.type).toBe("user-message");
  expect(turnEvents.at(-1)?.event.type).toBe("turn-sealed");

  // The text the consumer assembled is exactly what the daemon persisted.
  const text = turnEvents.map((s) => (s.event.type === "text-delta" ? s.event.delta : "")).join("");
  const history = await (await daemon.api(`/conversations/${conversationId}`)).json();
  const stored = (history.chunks as { role: string; chunk: { type: string; text?: string } }[])
    .filter((c) => c.role === "assistant" && c.chunk.type === "text")
    .map((c) => c.chunk.text)
    .join("");
  expect(text).toBe(stored);
  expect(text).toContain("word120");
});

test("a permission request pending across a disconnect is delivered once and can be answered after it", async () => {
  const socket = new DispatchSocket({
    endpoint: { url: `ws://127.0.0.1:${proxy.port}`, token: daemon.token },
    backoff: { baseMs: 20, maxMs: 200 },
  });
  const reopened = Promise.withResolvers<void>();
  let wasCut = false;
  socket.onState((s) => {
    if (s === "reconnecting") wasCut = true;
    if (s === "open" && wasCut) reopened.resolve();
  });
  await socket.connect();

  const conversationId = crypto.randomUUID();
  const seen: AgentEvent[] = [];
  const asked = Promise.withResolvers<Extract<AgentEvent, { type: "permission-request" }>>();
  const sealed = Promise.withResolvers<void>();
  socket.addChatListener(conversationId, (event) => {
    seen.push(event);
    if (event.type === "permission-request") asked.resolve(event);
    if (event.type === "turn-sealed") sealed.resolve();
  });

  await socket.request({
    type: "chat.send",
    conversationId,
    model: "local/echo",
    message: '/tool run_shell {"command":"echo asked once"}',
    cwd: await tempHome(),
  });
  const pending = await withTimeout(asked.promise, 15_000, "the permission request");
  expect(proxy.cutAll()).toBeGreaterThan(0);
  await withTimeout(reopened.promise, 15_000, "the socket to reconnect");
  // The re-subscription (sent on open) is answered before this request: the server's re-sent pending
  // request, if the client let it through, is already in `seen` when the turn goes on.
  await socket.request({
    type: "chat.permission",
    conversationId,
    requestId: pending.requestId,
    decision: "allow",
  });
  await withTimeout(sealed.promise, 15_000, "turn-sealed after the answer");
  socket.close();

  expect(seen.filter((e) => e.type === "permission-request")).toHaveLength(1);
  expect(seen.find((e) => e.type === "tool-result")).toMatchObject({ toolName: "run_shell", isError: false });
});

test("watchAll: every conversation once, in order, across a disconnect; new ones included", async () => {
  const watcher = new DispatchSocket({
    endpoint: { url: `ws://127.0.0.1:${proxy.port}`, token: daemon.token },
    backoff: { baseMs: 20, maxMs: 200 },
  });
  const sender = new DispatchSocket({
    endpoint: { url: `ws://127.0.0.1:${daemon.info.wsPort}`, token: daemon.token },
  });
  await Promise.all([watcher.connect(), sender.connect()]);
  const seen = new Map<string, (number | undefined)[]>();
  const sealed = new Map<string, PromiseWithResolvers<void>>();
  const [a, b, later] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  for (const id of [a, b, later]) sealed.set(id, Promise.withResolvers<void>());
  const some = Promise.withResolvers<void>();
  let total = 0;
  await watcher.watchAll((event, n) => {
    if (event.type === "status") return;
    const list = seen.get(event.conversationId) ?? [];
    list.push(n);
    seen.set(event.conversationId, list);
    if (++total === 20) some.resolve();
    if (event.type === "turn-sealed") sealed.get(event.conversationId)?.resolve();
  });
  for (const id of [a, b])
    await sender.request({
      type: "chat.send",
      conversationId: id,
      model: "local/echo",
      message: "/slow 15\n/long 60\nall",
    });
  await withTimeout(some.promise, 15_000, "the first 20 events");
  expect(proxy.cutAll()).toBeGreaterThan(0);
  await sender.request({
    type: "chat.send",
    conversationId: later,
    model: "local/echo",
    message: "after the cut",
  });
  for (const [id, s] of sealed) await withTimeout(s.promise, 30_000, `turn-sealed of ${id}`);
  watcher.close();
  sender.close();
  for (const id of [a, b, later]) {
    const ns = seen.get(id) ?? [];
    expect({ id, ns }).toEqual({ id, ns: Array.from({ length: ns.length }, (_, i) => i + 1) });
    expect(ns.length).toBeGreaterThan(3);
  }
});
