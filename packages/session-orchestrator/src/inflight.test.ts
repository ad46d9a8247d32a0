/**
 * The running step is durable before it ends. A "restart" is a second store opened on the same file
 * while the first orchestrator is still mid-step: its `recover()` sees exactly what a crash would
 * leave, and must find the streamed prefix and the started tool call.
 */
import { describe, expect, test } from "bun:test";
import { openConversationStore } from "@dispatch/conversation-store";
import type { ProviderPart } from "@dispatch/providers";
import { withTimeout } from "@dispatch/testkit";
import type { Tool } from "@dispatch/tools";
import { aborted, callTool, harness, ok, Recorder, say, WAIT_MS } from "./test-support";

function restartView(file: string) {
  const store = openConversationStore({ path: file });
  try {
    const report = store.recover();
    return { report, store };
  } catch (e) {
    store.close();
    throw e;
  }
}

describe("the in-flight step", () => {
  test("text streamed past the flush size is durable before the step ends", async () => {
    using h = harness({ config: { inflightFlushChars: 8, inflightFlushMs: 60_000 } });
    let release = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    h.model.script((req) =>
      (async function* (): AsyncGenerator<ProviderPart> {
        yield { type: "reasoning-delta", delta: "hmm, " };
        yield { type: "text-delta", delta: "Hello " };
        // 11 characters so far: flushed. The next 5 stay below the flush size: not yet written.
        yield { type: "text-delta", delta: "wor" };
        yield { type: "text-delta", delta: "ld" };
        await Promise.race([released, aborted(req.signal)]);
        yield* say("!");
      })(),
    );
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ message: "hi", conversationId }));
    await rec.waitFor((e) => e.type === "text-delta" && e.delta === "ld", "the last delta");

    const { report, store } = restartView(`${h.dir}/store.db`);
    try {
      expect(report.stepsPromoted).toBe(1);
      const chunks = ok(store.readWindow(conversationId)).chunks.map((c) => c.chunk);
      expect(chunks).toMatchObject([
        { type: "text", text: "hi" },
        { type: "thinking", text: "hmm, " },
        { type: "text", text: "Hello " },
        { type: "error", code: "STORE_STEP_INTERRUPTED" },
      ]);
    } finally {
      store.close();
    }
    release();
    await rec.sealed(turnId);
  });

  test("a tool call is recorded as started, with the run id the tool gets, before it runs", async () => {
    using h = harness();
    let runId: string | undefined;
    let started = () => {};
    const running = new Promise<void>((r) => {
      started = r;
    });
    let finish = () => {};
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const tool: Tool<{ value: string }> = {
      name: "slow",
      description: "waits",
      parameters: { type: "object", properties: { value: { type: "string" } } },
      validate: (args) => ({ ok: true, value: args as { value: string } }),
      permission: () => ({ kind: "read" }),
      async execute(_args, ctx) {
        runId = ctx.runId;
        started();
        await finished;
        return { content: "done", isError: false };
      },
    };
    h.tools.register(tool);
    h.model.script(callTool("k1", "slow", { value: "x" }, "running it"), say("ok"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ message: "go", conversationId }));
    await withTimeout(running, WAIT_MS, "the tool to start");

    const { report, store } = restartView(`${h.dir}/store.db`);
    try {
      expect(runId).toBeString();
      expect(report.interruptedToolRuns).toEqual([
        { conversationId, turnId, toolCallId: "k1", toolName: "slow", runId: runId as string },
      ]);
      const chunks = ok(store.readWindow(conversationId)).chunks.map((c) => c.chunk);
      expect(chunks.map((c) => c.type)).toEqual(["text", "text", "tool-call", "error", "tool-result"]);
      expect(chunks[4]).toMatchObject({ toolCallId: "k1", isError: true });
    } finally {
      store.close();
    }
    finish();
    await rec.sealed(turnId);
  });

  /** Streams `part` up to 1000 times against `maxStepChars`; the turn's events, chunks and parts sent. */
  async function flood(maxStepChars: number, part: ProviderPart) {
    const h = harness({ config: { maxStepChars } });
    let sent = 0;
    h.model.script(() =>
      (async function* (): AsyncGenerator<ProviderPart> {
        for (let i = 0; i < 1000; i++) {
          sent++;
          yield part;
        }
      })(),
    );
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ message: "flood", conversationId }));
    await rec.sealed(turnId);
    const chunks = ok(h.store.readWindow(conversationId)).chunks.map((c) => c.chunk);
    return { h, rec, chunks, sent };
  }

  test("a step streaming past maxStepChars fails with ORCH_STEP_TOO_LARGE; what came before is kept", async () => {
    const { h, rec, chunks, sent } = await flood(25, { type: "text-delta", delta: "0123456789" });
    using _ = h;
    expect(sent).toBe(3);
    expect(rec.of("error").map((e) => e.code)).toEqual(["ORCH_STEP_TOO_LARGE"]);
    expect(rec.of("done")[0]?.reason).toBe("error");
    expect(chunks).toMatchObject([
      { type: "text", text: "flood" },
      { type: "text", text: "0123456789".repeat(3) },
      { type: "error", code: "ORCH_STEP_TOO_LARGE" },
    ]);
    expect(h.store.recover().stepsPromoted).toBe(0);
  });

  test("tool arguments count towards maxStepChars", async () => {
    const delta = `"${"a".repeat(40)}",`;
    const { h, rec, sent } = await flood(100, { type: "tool-input-delta", toolCallId: "k", delta });
    using _ = h;
    expect(sent).toBe(3);
    expect(rec.of("error").map((e) => e.code)).toEqual(["ORCH_STEP_TOO_LARGE"]);
  });
});

describe("the in-flight flush timer", () => {
  test("steps due in the same window are flushed by one timer in one transaction, within flushMs", async () => {
    const together = { calls: 0 };
    using h = harness({
      config: { inflightFlushChars: 1_000_000, inflightFlushMs: 500 },
      storeView: (store) =>
        new Proxy(store, {
          get(target, key) {
            const value = Reflect.get(target, key, target);
            if (key === "writeTogether") together.calls++;
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
    });
    let release = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    const held = (text: string) => (req: { signal: AbortSignal }) =>
      (async function* (): AsyncGenerator<ProviderPart> {
        yield { type: "text-delta", delta: text };
        await Promise.race([released, aborted(req.signal)]);
        yield* say("!");
      })();
    h.model.script(held("first "), held("second "));
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    const recs = ids.map((id) => {
      const rec = new Recorder();
      h.orch.subscribe(id, rec.listener);
      return { rec, turnId: ok(h.orch.startTurn({ message: "hi", conversationId: id })).turnId };
    });
    await Promise.all(recs.map((r) => r.rec.waitFor((e) => e.type === "text-delta", "the first delta")));

    // Both steps are still running: their text is durable only through the in-flight rows.
    const { Database } = await import("bun:sqlite");
    const raw = new Database(`${h.dir}/store.db`, { readonly: true });
    try {
      const flushed = () =>
        raw.query<{ n: number }, []>("SELECT count(DISTINCT conversation_id) AS n FROM inflight_parts").get()
          ?.n ?? 0;
      await withTimeout(
        (async () => {
          while (flushed() < 2) await Bun.sleep(5);
        })(),
        WAIT_MS,
        "both running steps flushed by the timer",
      );
      expect(together.calls).toBe(1);
    } finally {
      raw.close();
    }
    release();
    await Promise.all(recs.map((r) => r.rec.sealed(r.turnId)));
    for (const id of ids)
      expect(ok(h.store.loadHistory(id)).messages.map((m) => m.role)).toEqual(["user", "assistant"]);
  });
});
