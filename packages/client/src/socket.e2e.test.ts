/**
 * The reconnecting socket against a real daemon, through a proxy that cuts the connection mid-turn:
 * the consumer must see every event of the turn exactly once, in order.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type RunningTestDaemon, reap, startDaemon, tempHome } from "@dispatch/daemon/test-support";
import type { AgentEvent } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit/wait";
import { DispatchSocket } from "./socket";
import { type CuttableProxy, startProxy } from "./tcp-proxy.test-support";

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

  const conversationId = crypto.randomUUID();
  const seen: { event: AgentEvent; n: number | undefined }[] = [];
  let cutDone = false;
  let resolveSealed: () => void = () => {};
  const sealed = new Promise<void>((resolve) => {
    resolveSealed = resolve;
  });
  let resolveSome: () => void = () => {};
  const some = new Promise<void>((resolve) => {
    resolveSome = resolve;
  });
  socket.addChatListener(conversationId, (event, n) => {
    seen.push({ event, n });
    if (seen.length === 15) resolveSome();
    if (event.type === "turn-sealed") resolveSealed();
  });

  // ~120 words at 15 ms each: long enough to cut in the middle.
  await socket.request({
    type: "chat.send",
    conversationId,
    model: "local/echo",
    message: "/slow 15\n/long 120\nstream this",
  });
  await withTimeout(some, 15_000, "the first 15 events of the turn");
  expect(proxy.cutAll()).toBeGreaterThan(0);
  cutDone = true;
  await withTimeout(sealed, 30_000, "turn-sealed after the reconnect");
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
