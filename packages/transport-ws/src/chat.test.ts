import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ChatDeltaMessage, ServerMessage } from "@dispatch/protocol/types";
import { ConversationCompacted, Orchestrator } from "@dispatch/session-orchestrator";
import { TURN_RUNNING_MESSAGE } from "./replies";
import { startTestDaemon, TestClient, type TestDaemon } from "./test-support";

let d: TestDaemon;
const clients: TestClient[] = [];

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d.stop();
});

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(d.url);
  clients.push(c);
  await c.nextOf("catalog");
  return c;
}

/** The numbered events (those of a turn), as comparable keys. */
function numbered(frames: ChatDeltaMessage[]): string[] {
  return frames
    .filter((f) => f.n !== undefined)
    .map((f) => `${f.n}:${f.event.type}:${JSON.stringify(f.event)}`);
}

function nsOf(frames: ChatDeltaMessage[]): number[] {
  return frames.flatMap((f) => (f.n === undefined ? [] : [f.n]));
}

const isDelta = (cid: string, type: string) => (f: ServerMessage) =>
  f.type === "chat.delta" && f.event.conversationId === cid && f.event.type === type;

/** A turn of the offline model that streams ~`words` tokens, `ms` apart. */
const slow = (ms: number, words: number, text: string) => `/slow ${ms}\n/long ${words}\n${text}`;

describe("chat.send", () => {
  test("streams deltas to the sender, acks, and mints a conversation id", async () => {
    const a = await connect();
    a.send({ type: "chat.send", message: "hello there", id: "send-1" });
    const first = await a.next<ChatDeltaMessage>((f) => f.type === "chat.delta", "the first delta");
    const cid = first.event.conversationId;
    expect(cid).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.event).toMatchObject({ type: "user-message", text: "hello there" });
    expect(first.n).toBe(1);
    expect(await a.next((f) => "replyTo" in f && f.replyTo === "send-1", "the ack")).toEqual({
      type: "ack",
      replyTo: "send-1",
    });
    await a.sealed(cid);
    // The minted id is on every event (this connection watches nothing else).
    const all = a.frames.filter((f) => f.type === "chat.delta");
    expect(all.length).toBeGreaterThan(4);
    expect(all.filter((f) => f.event.conversationId !== cid)).toEqual([]);
    const events = a.deltas(cid);
    const ns = nsOf(events);
    expect(ns).toEqual(ns.map((_, i) => i + 1));
    const text = events.flatMap((f) => (f.event.type === "text-delta" ? [f.event.delta] : [])).join("");
    expect(text).toContain("hello there");
    expect(events.map((f) => f.event.type)).toContain("done");
  });

  test("a second subscriber receives exactly the same events", async () => {
    const a = await connect();
    const b = await connect();
    const cid = "conv-two-watchers";
    expect(await b.request({ type: "chat.subscribe", conversationId: cid }, "sub")).toEqual({
      type: "ack",
      replyTo: "sub",
    });
    expect(
      await a.request({ type: "chat.send", conversationId: cid, message: "one two three" }, "go"),
    ).toEqual({
      type: "ack",
      replyTo: "go",
    });
    await a.sealed(cid);
    await b.sealed(cid);
    expect(numbered(b.deltas(cid))).toEqual(numbered(a.deltas(cid)));
    expect(numbered(a.deltas(cid)).length).toBeGreaterThan(4);
  });

  test("while a turn runs: chat.error with the compat message; chat.stop aborts it", async () => {
    const a = await connect();
    const cid = "conv-stop";
    a.send({ type: "chat.send", conversationId: cid, message: slow(40, 5000, "long") });
    await a.next(isDelta(cid, "text-delta"), "the first text-delta");
    expect(await a.request({ type: "chat.send", conversationId: cid, message: "again" }, "dup")).toEqual({
      type: "chat.error",
      conversationId: cid,
      message: TURN_RUNNING_MESSAGE,
      replyTo: "dup",
      code: "ORCH_TURN_RUNNING",
    });
    expect(await a.request({ type: "chat.stop", conversationId: cid }, "stop")).toEqual({
      type: "ack",
      replyTo: "stop",
    });
    const done = await a.next<ChatDeltaMessage>(isDelta(cid, "done"), "done");
    expect(done.event).toMatchObject({ type: "done", reason: "aborted" });
    await a.sealed(cid);
  });

  test("chat.stop on an idle conversation is acked (idempotent)", async () => {
    const a = await connect();
    expect(await a.request({ type: "chat.stop", conversationId: "conv-idle" }, "s")).toEqual({
      type: "ack",
      replyTo: "s",
    });
  });
});

describe("chat.subscribe", () => {
  test("a late joiner is replayed the running turn from its start, then live: no gap, no duplicate", async () => {
    const a = await connect();
    const b = await connect();
    const cid = "conv-late";
    a.send({ type: "chat.send", conversationId: cid, message: slow(20, 80, "late joiner") });
    for (let i = 0; i < 3; i++) await a.next(isDelta(cid, "text-delta"), `text-delta #${i + 1}`);
    expect(await b.request({ type: "chat.subscribe", conversationId: cid }, "join")).toEqual({
      type: "ack",
      replyTo: "join",
    });
    await a.sealed(cid);
    await b.sealed(cid);
    const seen = numbered(b.deltas(cid));
    expect(seen).toEqual(numbered(a.deltas(cid)));
    expect(b.deltas(cid)[0]?.event).toMatchObject({ type: "user-message" });
  });

  test("resume replays only the events after n, across a reconnect", async () => {
    const a1 = await connect();
    const cid = "conv-resume";
    a1.send({ type: "chat.send", conversationId: cid, message: slow(15, 60, "resume me") });
    for (let i = 0; i < 5; i++) await a1.next(isDelta(cid, "text-delta"), `text-delta #${i + 1}`);
    a1.close();
    await a1.closed;
    const before = a1.deltas(cid);
    const lastN = Math.max(...nsOf(before));
    const first = before[0]?.event;
    const turnId = first && "turnId" in first ? first.turnId : "";

    const a2 = await connect();
    expect(
      await a2.request(
        { type: "chat.subscribe", conversationId: cid, resume: { turnId, n: lastN } },
        "resume",
      ),
    ).toEqual({ type: "ack", replyTo: "resume" });
    await a2.sealed(cid);
    const after = nsOf(a2.deltas(cid));
    expect(after[0]).toBe(lastN + 1);
    const all = [...nsOf(before), ...after];
    expect(all).toEqual(all.map((_, i) => i + 1));
  });

  test("subscribe is idempotent per connection: one copy of each event", async () => {
    const a = await connect();
    const cid = "conv-idem";
    await a.request({ type: "chat.subscribe", conversationId: cid }, "s1");
    await a.request({ type: "chat.subscribe", conversationId: cid }, "s2");
    await a.request({ type: "chat.send", conversationId: cid, message: "once" }, "go");
    await a.sealed(cid);
    const ns = nsOf(a.deltas(cid));
    expect(ns).toEqual(ns.map((_, i) => i + 1));
  });

  test("after chat.unsubscribe no more events arrive; the turn keeps running", async () => {
    const a = await connect();
    const b = await connect();
    const cid = "conv-unsub";
    await b.request({ type: "chat.subscribe", conversationId: cid }, "watch");
    a.send({ type: "chat.send", conversationId: cid, message: slow(10, 30, "going on") });
    await a.next(isDelta(cid, "text-delta"), "a text-delta");
    expect(await a.request({ type: "chat.unsubscribe", conversationId: cid }, "bye")).toEqual({
      type: "ack",
      replyTo: "bye",
    });
    const countAtUnsub = a.deltas(cid).length;
    await b.sealed(cid); // the turn finished for the other watcher
    expect(await a.request({ type: "ping" }, "barrier")).toEqual({ type: "ack", replyTo: "barrier" });
    expect(a.deltas(cid).length).toBe(countAtUnsub);
  });
});

describe("chat.queue", () => {
  test("queue while running, cancel one; the rest is carried into the next turn", async () => {
    const a = await connect();
    const cid = "conv-queue";
    a.send({ type: "chat.send", conversationId: cid, message: slow(15, 60, "first") });
    await a.next(isDelta(cid, "text-delta"), "the first text-delta");
    await a.request({ type: "subscribe", surfaceId: "message-queue", conversationId: cid }, "qs");

    expect(
      await a.request({ type: "chat.queue", conversationId: cid, text: "second message" }, "q2"),
    ).toEqual({
      type: "ack",
      replyTo: "q2",
    });
    expect(await a.request({ type: "chat.queue", conversationId: cid, text: "third message" }, "q3")).toEqual(
      {
        type: "ack",
        replyTo: "q3",
      },
    );
    const spec = await a.nextOf("update", (f) => JSON.stringify(f.update.spec).includes("third message"));
    expect(spec.update.conversationId).toBe(cid);
    const buttons = spec.update.spec.fields.flatMap((f) => (f.kind === "button" ? [f.action.actionId] : []));
    expect(buttons.length).toBe(2);
    const thirdId = buttons[1]!.replace(/^cancel:/, "");
    expect(
      await a.request({ type: "chat.queue.cancel", conversationId: cid, messageId: thirdId }, "cancel"),
    ).toEqual({ type: "ack", replyTo: "cancel" });
    await a.nextOf("update", (f) => !JSON.stringify(f.update.spec).includes("third message"));

    await a.sealed(cid);
    const next = await a.next<ChatDeltaMessage>(
      (f) => isDelta(cid, "user-message")(f) && JSON.stringify(f).includes("second message"),
      "the queued message's turn",
    );
    await a.sealed(cid);
    expect(next.n).toBe(1);
    expect(JSON.stringify(a.frames)).not.toContain('"text":"third message"');
  });

  test("queue on an idle conversation starts a turn and auto-subscribes the sender", async () => {
    const a = await connect();
    const cid = "conv-queue-idle";
    expect(await a.request({ type: "chat.queue", conversationId: cid, text: "start me" }, "q")).toEqual({
      type: "ack",
      replyTo: "q",
    });
    await a.sealed(cid);
    expect(a.deltas(cid)[0]?.event).toMatchObject({ type: "user-message", text: "start me" });
  });
});

describe("broadcasts and presence", () => {
  test("status changes, open and compacted reach every connection", async () => {
    const a = await connect();
    const bystander = await connect();
    const cid = "conv-broadcast";
    await a.request({ type: "chat.send", conversationId: cid, message: "hi" }, "go");
    for (const c of [a, bystander]) {
      const s = await c.nextOf(
        "conversation.statusChanged",
        (f) => f.conversationId === cid && f.status === "active",
      );
      expect(s.workspaceId).toBeString();
      await c.nextOf("conversation.statusChanged", (f) => f.conversationId === cid && f.status === "idle");
    }
    const opened = d.host.get(Orchestrator).openConversation(cid);
    expect(opened.ok).toBe(true);
    for (const c of [a, bystander]) {
      expect(await c.nextOf("conversation.open", (f) => f.conversationId === cid)).toEqual({
        type: "conversation.open",
        conversationId: cid,
        workspaceId: opened.ok ? opened.value.workspaceId : "",
      });
    }
    d.host.emit(ConversationCompacted, {
      conversationId: cid,
      newConversationId: "archived",
      messagesSummarized: 3,
      messagesKept: 1,
    });
    for (const c of [a, bystander]) {
      expect(await c.nextOf("conversation.compacted", (f) => f.conversationId === cid)).toEqual({
        type: "conversation.compacted",
        conversationId: cid,
        newConversationId: "archived",
        messagesSummarized: 3,
        messagesKept: 1,
      });
    }
  });

  test("conversation.presence follows the number of watching connections", async () => {
    const cid = "conv-presence";
    const watchers = (n: number) => (f: ServerMessage) =>
      f.type === "conversation.presence" && f.conversationId === cid && f.watchers === n;
    const a = await connect();
    await a.request({ type: "chat.subscribe", conversationId: cid }, "a");
    await a.next(watchers(1), "presence 1 at a");
    const b = await connect();
    await b.request({ type: "chat.subscribe", conversationId: cid }, "b");
    await a.next(watchers(2), "presence 2 at a");
    await b.next(watchers(2), "presence 2 at b");
    const c = await connect();
    await c.request({ type: "chat.subscribe", conversationId: cid }, "c");
    await a.next(watchers(3), "presence 3 at a");
    await b.request({ type: "chat.unsubscribe", conversationId: cid }, "b-off");
    await a.next(watchers(2), "presence 2 at a after unsubscribe");
    c.close();
    await a.next(watchers(1), "presence 1 at a after close");
    expect(d.ws.connections().find((x) => x.conversations.includes(cid))).toBeDefined();
  });
});

describe("chat.permission", () => {
  const writeCall = (file: string) =>
    `/tool write_file ${JSON.stringify({ path: file, content: "hello", overwrite: false })}`;

  test("answers a permission-request; the decision reaches the tool call", async () => {
    const a = await connect();
    const cid = "conv-permission";
    await a.request({ type: "chat.send", conversationId: cid, message: writeCall("allowed.txt") }, "go");
    const req = await a.next<ChatDeltaMessage>(isDelta(cid, "permission-request"), "the permission request");
    const requestId = req.event.type === "permission-request" ? req.event.requestId : "";
    expect(requestId).not.toBe("");
    expect(
      await a.request({ type: "chat.permission", conversationId: cid, requestId, decision: "allow" }, "yes"),
    ).toEqual({ type: "ack", replyTo: "yes" });
    const resolved = await a.next<ChatDeltaMessage>(
      isDelta(cid, "permission-resolved"),
      "permission-resolved",
    );
    expect(resolved.event).toMatchObject({ requestId, decision: "allow" });
    const result = await a.next<ChatDeltaMessage>(isDelta(cid, "tool-result"), "the tool result");
    expect(result.event).toMatchObject({ toolName: "write_file", isError: false });
    await a.sealed(cid);
  });

  test("a denied request makes the tool call fail; an unknown request id is a chat.error", async () => {
    const a = await connect();
    const cid = "conv-deny";
    await a.request({ type: "chat.send", conversationId: cid, message: writeCall("denied.txt") }, "go");
    const req = await a.next<ChatDeltaMessage>(isDelta(cid, "permission-request"), "the permission request");
    const requestId = req.event.type === "permission-request" ? req.event.requestId : "";
    const unknown = await a.request(
      { type: "chat.permission", conversationId: cid, requestId: "no-such-request", decision: "allow" },
      "bad",
    );
    expect(unknown).toMatchObject({ type: "chat.error", conversationId: cid, replyTo: "bad" });
    await a.request({ type: "chat.permission", conversationId: cid, requestId, decision: "deny" }, "no");
    const result = await a.next<ChatDeltaMessage>(isDelta(cid, "tool-result"), "the tool result");
    expect(result.event).toMatchObject({ toolName: "write_file", isError: true });
    await a.sealed(cid);
  });

  test("a pending request is re-sent to a connection that subscribes while it waits", async () => {
    const a = await connect();
    const cid = "conv-pending";
    await a.request({ type: "chat.send", conversationId: cid, message: writeCall("pending.txt") }, "go");
    const req = await a.next<ChatDeltaMessage>(isDelta(cid, "permission-request"), "the permission request");
    const requestId = req.event.type === "permission-request" ? req.event.requestId : "";
    const turnId = "turnId" in req.event ? req.event.turnId : "";
    const last = Math.max(...nsOf(a.deltas(cid)));
    // Resuming after the request's own position: it is re-sent anyway because it is still pending.
    const b = await connect();
    await b.request({ type: "chat.subscribe", conversationId: cid, resume: { turnId, n: last } }, "join");
    const again = await b.next<ChatDeltaMessage>(isDelta(cid, "permission-request"), "the re-sent request");
    expect(again.event).toMatchObject({ requestId });
    await b.request({ type: "chat.permission", conversationId: cid, requestId, decision: "allow" }, "ok");
    await a.sealed(cid);
    await b.sealed(cid);
  });
});
