/**
 * The reconnecting socket across a daemon restart: SIGTERM mid-turn, a new daemon on the same data
 * folder (new ports, new token, found again through daemon.json), and the conversation goes on.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { type RunningTestDaemon, reap, startDaemon, tempHome } from "@dispatch/daemon/test-support";
import type { AgentEvent } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit";
import { connectToDaemon } from "./connect";

// Two daemon subprocesses boot in one test; a loaded machine needs more than the default 5 s.
setDefaultTimeout(30_000);

const daemons: RunningTestDaemon[] = [];
afterAll(() => reap(...daemons));

/** Resolves when `pred` holds for something pushed to `seen`. */
function recorder<T>() {
  const seen: T[] = [];
  let waiters: { pred: (all: T[]) => boolean; resolve: () => void }[] = [];
  return {
    seen,
    push(item: T) {
      seen.push(item);
      waiters = waiters.filter((w) => {
        if (!w.pred(seen)) return true;
        w.resolve();
        return false;
      });
    },
    until(pred: (all: T[]) => boolean, what: string, ms = 15_000): Promise<void> {
      if (pred(seen)) return Promise.resolve();
      return withTimeout(new Promise<void>((resolve) => waiters.push({ pred, resolve })), ms, what);
    },
  };
}

test("a daemon restart mid-turn: the aborted turn ends once, the socket and the HTTP client find the new daemon, the next turn streams once", async () => {
  const home = await tempHome();
  const first = await startDaemon(home);
  daemons.push(first);
  const conn = connectToDaemon({ home });
  const socket = conn.socket({ backoff: { baseMs: 20, maxMs: 200 } });
  const states = recorder<string>();
  socket.onState((s) => states.push(s));
  await socket.connect();

  const conversationId = crypto.randomUUID();
  const events = recorder<{ event: AgentEvent; n: number | undefined }>();
  socket.addChatListener(conversationId, (event, n) => events.push({ event, n }));
  const sealedCount = (all: { event: AgentEvent }[]) =>
    all.filter((s) => s.event.type === "turn-sealed").length;

  await socket.request({
    type: "chat.send",
    conversationId,
    model: "local/echo",
    message: "/slow 50\n/long 400\nbefore the restart",
  });
  await events.until(
    (all) => all.filter((s) => s.event.type === "text-delta").length >= 5,
    "five text deltas of the first turn",
  );
  expect(await first.stop()).toBe(0);
  // Shutdown seals running turns before it closes the sockets (1001).
  await events.until((all) => sealedCount(all) === 1, "the first turn's turn-sealed");
  await states.until((all) => all.includes("reconnecting"), "the socket to notice the restart");

  const second = await startDaemon(home);
  daemons.push(second);
  expect(second.info.wsPort === first.info.wsPort && second.token === first.token).toBe(false);
  await states.until((all) => all.lastIndexOf("open") > all.indexOf("reconnecting"), "the reconnect");
  await socket.request({ type: "chat.send", conversationId, message: "after the restart" });
  await events.until((all) => sealedCount(all) === 2, "the second turn's turn-sealed");
  socket.close();

  const numbered = events.seen.filter((s) => s.n !== undefined);
  const turns = [...new Set(numbered.map((s) => (s.event as { turnId: string }).turnId))];
  expect(turns).toHaveLength(2);
  for (const turnId of turns) {
    const mine = numbered.filter((s) => (s.event as { turnId: string }).turnId === turnId);
    expect(mine.map((s) => s.n)).toEqual(mine.map((_, i) => i + 1));
    expect(mine[0]?.event.type).toBe("user-message");
    expect(mine.at(-1)?.event.type).toBe("turn-sealed");
  }
  const firstDone = numbered.find((s) => s.event.type === "done")?.event;
  expect(firstDone).toMatchObject({ reason: "aborted" });

  // What the consumer assembled is exactly what the daemon persisted, across both daemons.
  const text = numbered.map((s) => (s.event.type === "text-delta" ? s.event.delta : "")).join("");
  // The connection's HTTP client follows the daemon to its new port and token too.
  const history = await conn.http.readConversation(conversationId);
  expect(conn.http.baseUrl).toBe(second.base);
  const stored = history.chunks
    .flatMap((c) => (c.role === "assistant" && c.chunk.type === "text" ? [c.chunk.text] : []))
    .join("");
  expect(text).toBe(stored);
  expect(text).toContain("after the restart");
  expect(await second.stop()).toBe(0);
});
