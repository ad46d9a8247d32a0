import { describe, expect, test } from "bun:test";
import type { ConversationStore } from "@dispatch/conversation-store/contract";
import { callTool, harness, ok, Recorder, say, testTool } from "./test-support";

const echoTool = testTool("echo", async ({ value }) => ({ content: `echo:${value}`, isError: false }));

/** A view of the real store that counts `loadHistory` calls. */
function countingReads(counter: { reads: number }) {
  return (store: ConversationStore): ConversationStore =>
    new Proxy(store, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key === "loadHistory") counter.reads++;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
}

async function turn(h: ReturnType<typeof harness>, conversationId: string, message: string) {
  const rec = new Recorder();
  const off = h.orch.subscribe(conversationId, rec.listener);
  const { turnId } = ok(h.orch.startTurn({ message, conversationId }));
  await rec.sealed(turnId);
  return { rec, off };
}

describe("history held across steps", () => {
  test("every step's request is the stored history, read once for a watched conversation's turns", async () => {
    const counter = { reads: 0 };
    using h = harness({ storeView: countingReads(counter) });
    h.tools.register(echoTool);
    const conversationId = crypto.randomUUID();
    h.model.script(
      callTool("c1", "echo", { value: "a" }, "first"),
      callTool("c2", "echo", { value: "b" }),
      say("done"),
      say("second turn"),
    );
    const first = await turn(h, conversationId, "hello");
    const stored = ok(h.store.loadHistory(conversationId)).messages;
    // Each request held what the store held when it was made (the last step's answer came after).
    const requests = h.model.requests.map((r) => r.messages);
    expect(requests[2]).toEqual(stored.slice(0, -1));
    expect(requests[1]).toEqual(stored.slice(0, requests[1]!.length));
    expect(requests[0]).toEqual(stored.slice(0, 1));
    const second = await turn(h, conversationId, "again");
    expect(h.model.requests[3]!.messages).toEqual(
      ok(h.store.loadHistory(conversationId)).messages.slice(0, -1),
    );
    // One read by the first step; the three later steps extended the held view.
    expect(counter.reads).toBe(1);
    first.off();
    second.off();
  });

  test("a write the orchestrator did not make (another writer's append) is noticed and the log read again", async () => {
    const counter = { reads: 0 };
    using h = harness({ storeView: countingReads(counter) });
    const conversationId = crypto.randomUUID();
    h.model.script(say("one"), say("two"));
    const first = await turn(h, conversationId, "hello");
    const before = counter.reads;
    // Another writer appends to the log behind the orchestrator's back.
    ok(
      h.store.appendStep(conversationId, [
        { messageId: crypto.randomUUID(), role: "user", chunks: [{ type: "text", text: "from elsewhere" }] },
      ]),
    );
    const second = await turn(h, conversationId, "next");
    expect(counter.reads).toBe(before + 1);
    const request = h.model.requests[1]!.messages;
    expect(request).toEqual(ok(h.store.loadHistory(conversationId)).messages.slice(0, -1));
    expect(request.some((m) => m.chunks.some((c) => c.type === "text" && c.text === "from elsewhere"))).toBe(
      true,
    );
    first.off();
    second.off();
  });
});
