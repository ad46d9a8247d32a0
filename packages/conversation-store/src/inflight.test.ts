import { describe, expect, test } from "bun:test";
import { type InflightPart, STEP_INTERRUPTED_CODE } from "./contract";
import { NOT_RUN_RESULT, RUN_INTERRUPTED_RESULT } from "./inflight";
import { codeOf, fill, msg, openTestStore, seqs, tempDb, text, unwrap } from "./test-support";

const step = { turnId: "t1", stepId: "t1.1", messageId: "a1" };
const call = (id: string): InflightPart => ({
  kind: "tool-call",
  chunk: { type: "tool-call", toolCallId: id, toolName: "run_shell", input: { command: "sleep 9" } },
});

describe("the in-flight step", () => {
  test("a crash mid-step leaves the flushed prefix, promoted at recovery as an interrupted step", () => {
    using tmp = tempDb();
    {
      using store = openTestStore(tmp.file);
      unwrap(store.appendStep("c", [msg("u1", "user", text("hi"))]));
      unwrap(store.beginTurn({ turnId: "t1", conversationId: "c", startedAt: 1 }));
      unwrap(store.appendInflight("c", step, [{ kind: "thinking", text: "let me " }]));
      unwrap(
        store.appendInflight("c", step, [
          { kind: "thinking", text: "think" },
          { kind: "text", text: "Hel" },
        ]),
      );
      unwrap(store.appendInflight("c", step, [{ kind: "text", text: "lo" }, call("k1"), call("k2")]));
      unwrap(store.appendInflight("c", step, [{ kind: "tool-start", toolCallId: "k1", runId: "run-1" }]));
    } // SIGKILL: nothing settled the step
    using store = openTestStore(tmp.file);
    // Nothing of the step is in the log before recovery: it is in flight only.
    expect(seqs(unwrap(store.readWindow("c")).chunks)).toEqual([1]);
    const report = store.recover();
    expect(report.stepsPromoted).toBe(1);
    expect(report.interruptedToolRuns).toEqual([
      { conversationId: "c", turnId: "t1", toolCallId: "k1", toolName: "run_shell", runId: "run-1" },
    ]);
    const log = unwrap(store.readWindow("c")).chunks;
    expect(seqs(log)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(log.slice(1).map((c) => c.chunk)).toMatchObject([
      { type: "thinking", text: "let me think" },
      { type: "text", text: "Hello" },
      { type: "tool-call", toolCallId: "k1" },
      { type: "tool-call", toolCallId: "k2" },
      { type: "error", code: STEP_INTERRUPTED_CODE },
      { type: "tool-result", toolCallId: "k1", isError: true, content: RUN_INTERRUPTED_RESULT },
      { type: "tool-result", toolCallId: "k2", isError: true, content: NOT_RUN_RESULT },
    ]);
    expect(log[1]?.messageId).toBe("a1");
    // The model view continues from it: both calls are answered, nothing synthetic is needed.
    const history = unwrap(store.loadHistory("c")).messages;
    expect(history.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(history.some((m) => m.synthetic)).toBe(false);
    // Idempotent: a second recovery finds nothing.
    expect(store.recover()).toMatchObject({ stepsPromoted: 0, interruptedToolRuns: [] });
    expect(unwrap(store.readWindow("c")).latestSeq).toBe(8);
  });

  test("the step's own append settles its rows in the same transaction", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    unwrap(store.appendStep("c", [msg("u1", "user", text("hi"))]));
    unwrap(store.appendInflight("c", step, [{ kind: "text", text: "Hello" }]));
    unwrap(store.appendStep("c", [msg("a1", "assistant", text("Hello"))], {}, { settleInflight: true }));
    expect(store.recover()).toMatchObject({ stepsPromoted: 0 });
    expect(seqs(unwrap(store.readWindow("c")).chunks)).toEqual([1, 2]);
  });

  test("bad input is a coded error and writes nothing", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    expect(codeOf(store.appendInflight("nope", step, [{ kind: "text", text: "x" }]))).toBe(
      "STORE_UNKNOWN_CONVERSATION",
    );
    unwrap(store.appendStep("c", [msg("u1", "user", text("hi"))]));
    const bad = [{ kind: "tool-call", chunk: { type: "text", text: "x" } }] as unknown as InflightPart[];
    expect(codeOf(store.appendInflight("c", step, bad))).toBe("STORE_INVALID_INPUT");
    expect(store.recover()).toMatchObject({ stepsPromoted: 0 });
  });
});

describe("window byte cap", () => {
  test("a forward read stops at the cap; latestSeq and `more` page on without a gap", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 50);
    const size = unwrap(store.readWindow("c", { limit: 1 })).chunks[0]?.chunk;
    const rowBytes = JSON.stringify(size).length;
    const seen: number[] = [];
    let since = 0;
    for (let i = 0; i < 100; i++) {
      const w = unwrap(store.readWindow("c", { sinceSeq: since, maxBytes: rowBytes * 7 }));
      seen.push(...seqs(w.chunks));
      expect(w.chunks.length).toBeLessThanOrEqual(7);
      if (!w.more) break;
      expect(w.more).toEqual({ sinceSeq: w.latestSeq });
      since = w.latestSeq;
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test("a newest-k read keeps the newest and points before the first", () => {
    using tmp = tempDb();
    using store = openTestStore(tmp.file);
    fill(store, "c", 50);
    const w = unwrap(store.readWindow("c", { limit: 40, maxBytes: 1 }));
    expect(seqs(w.chunks)).toEqual([50]);
    expect(w.latestSeq).toBe(50);
    expect(w.more).toEqual({ beforeSeq: 50 });
    const all = unwrap(store.readWindow("c", { limit: 40 }));
    expect(all.chunks.length).toBe(40);
    expect(all.more).toBeUndefined();
  });
});
