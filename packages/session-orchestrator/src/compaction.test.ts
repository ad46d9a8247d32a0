import { describe, expect, test } from "bun:test";
import type { HistoryMessage } from "@dispatch/conversation-store";
import type { Role } from "@dispatch/protocol/types";
import type { ProviderPart } from "@dispatch/providers";
import { planCompaction, renderTranscript, SUMMARY_HEADER, shouldAutoCompact } from "./compaction";
import type { ConversationCompacted } from "./contract";
import { aborted, callTool, harness, ok, ScriptedModel, say, testTool, throwingStore } from "./test-support";

const msg = (role: Role, i: number): HistoryMessage => ({
  messageId: `m${i}`,
  role,
  chunks: [{ type: "text", text: `${role} ${i}` }],
  firstSeq: i,
});

describe("planCompaction", () => {
  test("keeps the last N and summarizes the rest", () => {
    const ms = [msg("user", 1), msg("assistant", 2), msg("user", 3), msg("assistant", 4)];
    const plan = planCompaction(ms, 2)!;
    expect(plan.summarize.map((m) => m.messageId)).toEqual(["m1", "m2"]);
    expect(plan.keep.map((m) => m.messageId)).toEqual(["m3", "m4"]);
  });

  test("never starts the kept part with a tool result (keeps its call with it)", () => {
    const ms = [msg("user", 1), msg("assistant", 2), msg("tool", 3), msg("assistant", 4)];
    const plan = planCompaction(ms, 2)!;
    expect(plan.keep.map((m) => m.role)).toEqual(["assistant", "tool", "assistant"]);
  });

  test("nothing to summarize: too few messages, or only a previous summary", () => {
    expect(planCompaction([msg("user", 1), msg("assistant", 2)], 2)).toBeUndefined();
    expect(planCompaction([msg("system", 1), msg("user", 2), msg("assistant", 3)], 2)).toBeUndefined();
    expect(planCompaction([msg("tool", 1), msg("tool", 2)], 1)).toBeUndefined();
    expect(planCompaction([msg("user", 1), msg("assistant", 2)], 0)?.keep).toEqual([]);
  });

  test("auto-compaction threshold", () => {
    expect(shouldAutoCompact(81, 100, 0.8)).toBe(true);
    expect(shouldAutoCompact(80, 100, 0.8)).toBe(false);
    expect(shouldAutoCompact(81, undefined, 0.8)).toBe(false);
    expect(shouldAutoCompact(undefined, 100, 0.8)).toBe(false);
  });

  test("the transcript names roles, tool calls and results, and skips reasoning", () => {
    const t = renderTranscript([
      {
        messageId: "a",
        role: "assistant",
        firstSeq: 1,
        chunks: [
          { type: "thinking", text: "secret thoughts" },
          { type: "tool-call", toolCallId: "c", toolName: "read_file", input: { path: "x" } },
        ],
      },
      {
        messageId: "b",
        role: "tool",
        firstSeq: 2,
        chunks: [
          { type: "tool-result", toolCallId: "c", toolName: "read_file", content: "data", isError: false },
        ],
      },
    ]);
    expect(t).toBe(
      '## assistant\n[tool call read_file {"path":"x"}]\n\n## tool\n[tool result read_file]\ndata',
    );
  });
});

/** Runs turns `texts` to completion on one conversation. */
async function converse(
  h: ReturnType<typeof harness>,
  texts: string[],
  conversationId = crypto.randomUUID(),
) {
  for (const t of texts) {
    ok(h.orch.startTurn({ conversationId, message: t }));
    await h.orch.whenSettled(conversationId);
  }
  return conversationId;
}

describe("compaction", () => {
  test("manual: summary + kept messages become the model view; the log and an archive keep everything", async () => {
    using h = harness();
    h.tools.register(testTool("echo", async ({ value }) => ({ content: value, isError: false })));
    h.model.script(say("a1"), callTool("c1", "echo", { value: "v" }), say("a2"), say("a3"));
    const id = await converse(h, ["u1", "u2", "u3"]);
    const before = h.store.getConversation(id)!;
    const rawBefore = ok(h.store.readWindow(id)).chunks;

    h.model.script(say("SUMMARY: the user said u1 and u2"));
    const r = ok(await h.orch.compact(id, { keepLastN: 2 }));
    expect(r).toMatchObject({ conversationId: id, messagesKept: 2 });
    // user u1, assistant a1, user u2, assistant(call), tool, assistant a2 summarized; u3 + a3 kept.
    expect(r.messagesSummarized).toBe(6);
    expect(h.emitted.at(-1)).toEqual({ event: "conversation.compacted", payload: r });

    // The summary request used the conversation's model and a transcript of the older messages.
    const summaryReq = h.model.requests.at(-1)!;
    expect(summaryReq.tools).toEqual([]);
    expect(JSON.stringify(summaryReq.messages)).toContain("u2");
    expect(JSON.stringify(summaryReq.messages)).not.toContain("u3");

    // Same id, seq keeps growing, the original chunks are untouched.
    const after = h.store.getConversation(id)!;
    expect(after.lastSeq).toBeGreaterThan(before.lastSeq);
    expect(ok(h.store.readWindow(id, { beforeSeq: before.lastSeq + 1 })).chunks).toEqual(rawBefore);

    const view = ok(h.store.loadHistory(id)).messages;
    expect(view.map((m) => m.role)).toEqual(["system", "user", "assistant"]);
    expect(view[0]!.chunks[0]).toEqual({
      type: "system",
      text: `${SUMMARY_HEADER}\n\nSUMMARY: the user said u1 and u2`,
    });
    expect(view[1]!.chunks).toEqual([{ type: "text", text: "u3" }]);

    // The archive: closed, linked, holding the summarized raw log.
    const archive = h.store.getConversation(r.newConversationId)!;
    expect(archive).toMatchObject({ status: "closed", compactedFrom: id });
    const archived = ok(h.store.readWindow(r.newConversationId)).chunks.map((c) => c.chunk);
    const u3 = rawBefore.find((c) => c.chunk.type === "text" && c.chunk.text === "u3")!;
    expect(archived).toEqual(rawBefore.filter((c) => c.seq < u3.seq).map((c) => c.chunk));
    expect(archived.at(-1)).toEqual({ type: "text", text: "a2" });

    // The next turn's model request starts from the summary.
    h.model.script(say("a4"));
    await converse(h, ["u4"], id);
    expect(h.model.requests.at(-1)!.messages.map((m) => m.role)).toEqual([
      "system",
      "user",
      "assistant",
      "user",
    ]);
  });

  test("refusals: unknown, running turn, nothing to compact, closed", async () => {
    using h = harness();
    expect(await h.orch.compact("nope")).toMatchObject({
      ok: false,
      error: { code: "ORCH_UNKNOWN_CONVERSATION" },
    });
    h.model.script(say("a1"));
    const id = await converse(h, ["u1"]);
    expect(await h.orch.compact(id)).toMatchObject({ ok: false, error: { code: "ORCH_NOTHING_TO_COMPACT" } });
    h.model.script((req) =>
      (async function* (): AsyncGenerator<ProviderPart> {
        yield { type: "text-delta", delta: "x" };
        await aborted(req.signal);
        throw new Error("aborted");
      })(),
    );
    ok(h.orch.startTurn({ conversationId: id, message: "u2" }));
    expect(await h.orch.compact(id)).toMatchObject({ ok: false, error: { code: "ORCH_TURN_RUNNING" } });
    h.orch.stopTurn(id);
    await h.orch.whenSettled(id);
    ok(await h.orch.closeConversation(id));
    expect(await h.orch.compact(id)).toMatchObject({
      ok: false,
      error: { code: "ORCH_CONVERSATION_CLOSED" },
    });
  });

  test("a failing summary changes nothing", async () => {
    using h = harness();
    h.model.script(say("a1"), say("a2"));
    const id = await converse(h, ["u1", "u2"]);
    const before = h.store.getConversation(id)!;
    h.model.script({ throw: new Error("model down") });
    const r = await h.orch.compact(id, { keepLastN: 1 });
    expect(r).toMatchObject({ ok: false, error: { code: "ORCH_COMPACTION_FAILED" } });
    expect(h.store.getConversation(id)).toEqual(before);
  });

  test("a compaction that throws (a bug) is reported, and the next one runs", async () => {
    let broken = true;
    using h = harness({ storeView: (s) => throwingStore(s, "appendCompaction", () => broken) });
    h.model.script(say("a1"), say("a2"));
    const id = await converse(h, ["u1", "u2"]);
    const before = h.store.getConversation(id)!;
    h.model.script(say("summary one"), say("summary two"));
    const failed = await h.orch.compact(id, { keepLastN: 1 });
    expect(failed).toMatchObject({ ok: false, error: { code: "ORCH_COMPACTION_FAILED" } });
    expect(failed.ok ? "" : failed.error.message).toContain("appendCompaction blew up");
    expect(h.store.getConversation(id)).toEqual(before);
    broken = false;
    const r = ok(await h.orch.compact(id, { keepLastN: 1 }));
    expect(r.messagesKept).toBe(1);
    expect(ok(h.store.loadHistory(id)).messages.map((m) => m.role)).toEqual(["system", "assistant"]);
  });

  test("automatic: when the last turn used more than the share of the context window", async () => {
    const small = new ScriptedModel("fake/small", { contextWindow: 100 });
    using h = harness({ models: [small], config: { autoCompactShare: 0.5, keepLastN: 2 } });
    small.script(
      say("a1", { inputTokens: 10, outputTokens: 1 }),
      say("a2", { inputTokens: 60, outputTokens: 1 }),
    );
    small.script(say("the summary"));
    const id = crypto.randomUUID();
    ok(h.orch.startTurn({ conversationId: id, message: "u1", model: "fake/small" }));
    await h.orch.whenSettled(id);
    expect(h.emitted.some((e) => e.event === "conversation.compacted")).toBe(false);
    ok(h.orch.startTurn({ conversationId: id, message: "u2" }));
    await h.orch.whenSettled(id);
    const compacted = (await h.waitEmitted("conversation.compacted")) as ConversationCompacted;
    expect(compacted).toMatchObject({ conversationId: id, messagesSummarized: 2, messagesKept: 2 });
    expect(ok(h.store.loadHistory(id)).messages.map((m) => m.role)).toEqual(["system", "user", "assistant"]);
  });

  test("no automatic compaction starts under a turn that a turn-sealed listener already began", async () => {
    const small = new ScriptedModel("fake/small", { contextWindow: 100 });
    using h = harness({ models: [small], config: { autoCompactShare: 0.5, keepLastN: 1 } });
    small.script(
      say("a1", { inputTokens: 60, outputTokens: 1 }),
      say("a2", { inputTokens: 10, outputTokens: 1 }),
      say("a summary nobody should ask for"),
    );
    const id = crypto.randomUUID();
    let second: string | undefined;
    h.orch.subscribe(id, (e) => {
      if (e.type === "turn-sealed" && second === undefined) {
        second = ok(h.orch.startTurn({ conversationId: id, message: "u2" })).turnId;
      }
    });
    const first = ok(h.orch.startTurn({ conversationId: id, message: "u1", model: "fake/small" }));
    await h.orch.whenSettled(id, first.turnId);
    expect((await h.orch.whenSettled(id, second))?.reason).toBe("stop");
    // Only the two turns asked the model: no summary was requested while the second turn ran.
    expect(small.requests.length).toBe(2);
    expect(small.pending).toBe(1);
    expect(h.emitted.some((e) => e.event === "conversation.compacted")).toBe(false);
  });

  test("a turn started while compacting waits for it and keeps its own message", async () => {
    using h = harness();
    h.model.script(say("a1"), say("a2"));
    const id = await converse(h, ["u1", "u2"]);
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    h.model.script(
      () =>
        (async function* (): AsyncGenerator<ProviderPart> {
          await gate;
          yield* say("sum");
        })(),
      say("a3"),
    );
    const compaction = h.orch.compact(id, { keepLastN: 2 });
    const turn = ok(h.orch.startTurn({ conversationId: id, message: "u3" }));
    release();
    ok(await compaction);
    const settled = await h.orch.whenSettled(id, turn.turnId);
    expect(settled?.reason).toBe("stop");
    const req = h.model.requests.at(-1)!;
    expect(req.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(req.messages.at(-1)!.chunks).toEqual([{ type: "text", text: "u3" }]);
  });
});
