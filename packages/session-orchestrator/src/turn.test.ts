import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "@dispatch/protocol/types";
import { ProviderError, type ProviderPart } from "@dispatch/providers";
import { withTimeout } from "@dispatch/testkit";
import { aborted, callTool, harness, ok, Recorder, say, testTool, WAIT_MS } from "./test-support";

const echoTool = testTool("echo", async ({ value }, _signal, out) => {
  out(`echoing ${value}`);
  return { content: `echo:${value}`, isError: false };
});

/** Subscribes first (as the WS transport does for the sender), then starts the turn. */
function start(h: ReturnType<typeof harness>, message = "hello", conversationId = crypto.randomUUID()) {
  const rec = new Recorder();
  h.orch.subscribe(conversationId, rec.listener);
  return { rec, ...ok(h.orch.startTurn({ message, conversationId })) };
}

describe("turn loop", () => {
  test("multi-step turn: tool call, result fed back, final answer; events in order and every step persisted", async () => {
    using h = harness();
    h.tools.register(echoTool);
    h.model.script(callTool("c1", "echo", { value: "hi" }, "let me check"), say("done!"));
    const { rec, conversationId, turnId } = start(h);
    await rec.sealed(turnId);

    expect(rec.types).toEqual([
      "user-message",
      "turn-start",
      "status",
      "text-delta",
      "tool-call",
      "usage",
      "tool-output",
      "tool-result",
      "step-complete",
      "text-delta",
      "usage",
      "step-complete",
      "done",
      "turn-sealed",
      "status",
    ]);
    expect(rec.entries.filter((e) => e.event.type !== "status").map((e) => e.n)).toEqual(
      Array.from({ length: 13 }, (_, i) => i + 1),
    );
    const done = rec.of("done")[0]!;
    expect(done.reason).toBe("stop");
    expect(done.usage).toEqual({ inputTokens: 20, outputTokens: 5 });
    const result = rec.of("tool-result")[0]!;
    expect(result).toMatchObject({ toolCallId: "c1", toolName: "echo", content: "echo:hi", isError: false });
    expect(typeof result.durationMs).toBe("number");
    const steps = rec.of("step-complete");
    expect(steps.map((s) => s.stepId)).toEqual([`${turnId}.1`, `${turnId}.2`]);
    expect(steps.every((s) => typeof s.genTotalMs === "number" && typeof s.ttftMs === "number")).toBe(true);
    expect(rec.of("status").map((s) => s.status)).toEqual(["active", "idle"]);

    // The second request saw the tool result; history reconciles to user, assistant, tool, assistant.
    const second = h.model.requests[1]!;
    expect(second.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    const history = ok(h.store.loadHistory(conversationId)).messages;
    expect(history.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(history[1]!.chunks).toEqual([
      { type: "text", text: "let me check" },
      {
        type: "tool-call",
        toolCallId: "c1",
        toolName: "echo",
        input: { value: "hi" },
        stepId: `${turnId}.1`,
      },
    ]);
    expect(h.store.getTurn(turnId)?.status).toBe("completed");
    expect(h.store.getConversation(conversationId)?.status).toBe("idle");
    expect(h.emitted.map((e) => e.event)).toEqual([
      "turn.started",
      "conversation.statusChanged",
      "conversation.statusChanged",
      "turn.settled",
    ]);
    expect(h.emitted[1]!.payload).toEqual({ conversationId, status: "active", workspaceId: "default" });
  });

  test("turn-sealed comes after the last write: turn recorded, status persisted, history final", async () => {
    using h = harness();
    h.model.script(say("hi"));
    const conversationId = crypto.randomUUID();
    const atSeal: unknown[] = [];
    h.orch.subscribe(conversationId, (e) => {
      if (e.type !== "turn-sealed") return;
      atSeal.push(
        h.store.getTurn(e.turnId)?.status,
        h.store.getConversation(conversationId)?.status,
        ok(h.store.readWindow(conversationId)).chunks.length,
      );
    });
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "hello" }));
    await rec.sealed(turnId);
    expect(atSeal).toEqual(["completed", "idle", 2]);
  });

  test("each finished step is persisted before the next step starts", async () => {
    using h = harness();
    h.tools.register(echoTool);
    let seenAtSecondRequest: string[] = [];
    h.model.script(callTool("c1", "echo", { value: "x" }), (req) => {
      seenAtSecondRequest = req.messages.map((m) => m.role);
      return (async function* () {
        yield* say("ok");
      })();
    });
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(seenAtSecondRequest).toEqual(["user", "assistant", "tool"]);
  });

  test("malformed tool arguments become an error result the model reads; the turn goes on", async () => {
    using h = harness();
    h.tools.register(echoTool);
    const badJson: ProviderPart[] = [
      {
        type: "tool-call",
        toolCallId: "c1",
        toolName: "echo",
        input: '{"value": ',
        inputError: "Unexpected end of JSON",
      },
      { type: "tool-call", toolCallId: "c2", toolName: "echo", input: { value: 42 } },
      { type: "tool-call", toolCallId: "c3", toolName: "nope", input: {} },
      { type: "finish", reason: "tool-calls" },
    ];
    h.model.script(badJson, say("sorry"));
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    const results = rec.of("tool-result");
    expect(results.map((r) => r.isError)).toEqual([true, true, true]);
    expect(results[0]!.content).toContain("Unexpected end of JSON");
    expect(results[1]!.content).toContain("/value must be string");
    expect(results[2]!.content).toContain('unknown tool "nope"');
    expect(rec.of("done")[0]!.reason).toBe("stop");
    const toolMsg = h.model.requests[1]!.messages.at(-1)!;
    expect(toolMsg.role).toBe("tool");
    expect(toolMsg.chunks.map((c) => (c.type === "tool-result" ? c.toolCallId : ""))).toEqual([
      "c1",
      "c2",
      "c3",
    ]);
  });

  test("step cap ends the turn with done reason max-steps", async () => {
    using h = harness({ config: { maxSteps: 2 } });
    h.tools.register(echoTool);
    h.model.script(callTool("c1", "echo", { value: "1" }), callTool("c2", "echo", { value: "2" }));
    const { rec, turnId, conversationId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("done")[0]!.reason).toBe("max-steps");
    expect(h.model.requests.length).toBe(2);
    // Both steps' tool results are persisted, so a next turn continues cleanly.
    const roles = ok(h.store.loadHistory(conversationId)).messages.map((m) => m.role);
    expect(roles).toEqual(["user", "assistant", "tool", "assistant", "tool"]);
  });

  test("a retryable provider error before any content is retried with provider-retry events", async () => {
    using h = harness();
    h.model.script(
      { throw: new ProviderError("PROVIDER_HTTP_ERROR", "HTTP 500", { status: 500, retryable: true }) },
      { throw: new ProviderError("PROVIDER_RATE_LIMITED", "HTTP 429", { status: 429, retryable: true }) },
      say("finally"),
    );
    const { rec, turnId, conversationId } = start(h);
    await rec.sealed(turnId);
    const retries = rec.of("provider-retry");
    expect(retries.map((r) => [r.attempt, r.code])).toEqual([
      [1, "PROVIDER_HTTP_ERROR"],
      [2, "PROVIDER_RATE_LIMITED"],
    ]);
    expect(rec.of("done")[0]!.reason).toBe("stop");
    const chunks = ok(h.store.readWindow(conversationId)).chunks.map((c) => c.chunk.type);
    expect(chunks).toEqual(["text", "text"]); // user + answer; retries are not persisted
  });

  test("retries stop after maxAttempts and the turn ends with error", async () => {
    using h = harness({ config: { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } } });
    const e500 = () => ({
      throw: new ProviderError("PROVIDER_HTTP_ERROR", "HTTP 500", { status: 500, retryable: true }),
    });
    h.model.script(e500(), e500());
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("provider-retry").length).toBe(1);
    expect(rec.of("error")[0]).toMatchObject({ code: "PROVIDER_HTTP_ERROR" });
    expect(rec.types.slice(-3)).toEqual(["done", "turn-sealed", "status"]);
    expect(h.store.getTurn(turnId)?.status).toBe("error");
  });

  test("a non-retryable error is not retried", async () => {
    using h = harness();
    h.model.script({ throw: new ProviderError("PROVIDER_AUTH", "bad key", { status: 401 }) });
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("provider-retry")).toEqual([]);
    expect(rec.of("done")[0]!.reason).toBe("error");
  });

  test("an error after content ends the turn with error; the partial output is persisted", async () => {
    using h = harness();
    h.model.script({
      throw: new ProviderError("PROVIDER_NETWORK", "stream cut", { retryable: true }),
      after: [{ type: "text-delta", delta: "half an ans" }],
    });
    const { rec, turnId, conversationId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("provider-retry")).toEqual([]);
    expect(rec.of("error")[0]).toMatchObject({ message: "stream cut", code: "PROVIDER_NETWORK" });
    expect(rec.types.slice(-4)).toEqual(["error", "done", "turn-sealed", "status"]);
    const stored = ok(h.store.readWindow(conversationId)).chunks.map((c) => c.chunk);
    expect(stored.slice(1)).toEqual([
      { type: "text", text: "half an ans" },
      { type: "error", message: "stream cut", code: "PROVIDER_NETWORK" },
    ]);
  });

  test("first-token timeout is retried; idle timeout after content is an error", async () => {
    using h = harness({ config: { timeouts: { firstTokenMs: 30, idleMs: 30 } } });
    const hang = (req: { signal: AbortSignal }) =>
      (async function* (): AsyncGenerator<ProviderPart> {
        await aborted(req.signal);
        if (req.signal.aborted) throw new ProviderError("PROVIDER_ABORTED", "aborted");
        yield { type: "text-delta", delta: "never" };
      })();
    const textThenHang = (req: { signal: AbortSignal }) =>
      (async function* (): AsyncGenerator<ProviderPart> {
        yield { type: "text-delta", delta: "partial" };
        await aborted(req.signal);
        throw new ProviderError("PROVIDER_ABORTED", "aborted");
      })();
    h.model.script(hang, textThenHang);
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("provider-retry").map((r) => r.code)).toEqual(["ORCH_FIRST_TOKEN_TIMEOUT"]);
    expect(rec.of("error")[0]!.code).toBe("ORCH_IDLE_TIMEOUT");
    expect(h.model.requests.every((r) => r.signal.aborted)).toBe(true);
  });

  test("stopTurn mid-stream aborts the provider request, ends with done aborted and keeps the partial text", async () => {
    using h = harness();
    let requestSignal: AbortSignal | undefined;
    h.model.script((req) =>
      (async function* (): AsyncGenerator<ProviderPart> {
        requestSignal = req.signal;
        yield { type: "text-delta", delta: "working on" };
        await aborted(req.signal);
        throw new ProviderError("PROVIDER_ABORTED", "aborted");
      })(),
    );
    const { rec, turnId, conversationId } = start(h);
    await rec.waitForType("text-delta");
    expect(h.orch.stopTurn(conversationId)).toEqual({ conversationId, abortedTurn: true });
    await rec.sealed(turnId);
    expect(requestSignal?.aborted).toBe(true);
    expect(rec.of("done")[0]!.reason).toBe("aborted");
    expect(rec.turnTypes.at(-1)).toBe("turn-sealed");
    const stored = ok(h.store.readWindow(conversationId)).chunks.map((c) => c.chunk);
    expect(stored.at(-1)).toEqual({ type: "text", text: "working on" });
    expect(h.store.getTurn(turnId)?.status).toBe("aborted");
    expect(h.orch.stopTurn(conversationId).abortedTurn).toBe(false);
  });

  test("stopTurn aborts the running tool through its signal; the call gets an aborted result", async () => {
    using h = harness();
    let toolSignal: AbortSignal | undefined;
    let toolStarted = () => {};
    const running = new Promise<void>((r) => {
      toolStarted = r;
    });
    h.tools.register(
      testTool("wait", async (_a, signal) => {
        toolSignal = signal;
        toolStarted();
        await aborted(signal);
        return { content: "killed", isError: true };
      }),
    );
    h.model.script(callTool("c1", "wait", { value: "x" }));
    const { rec, turnId, conversationId } = start(h);
    await withTimeout(running, WAIT_MS, "the tool to start");
    h.orch.stopTurn(conversationId);
    await rec.sealed(turnId);
    expect(toolSignal?.aborted).toBe(true);
    expect(rec.of("tool-result")[0]).toMatchObject({ toolCallId: "c1", isError: true });
    expect(rec.of("done")[0]!.reason).toBe("aborted");
    const roles = ok(h.store.loadHistory(conversationId)).messages.map((m) => m.role);
    expect(roles).toEqual(["user", "assistant", "tool"]);
  });

  test("a tool that ignores its timeout gets an error result and the turn continues", async () => {
    using h = harness({ config: { timeouts: { toolMs: 20 } } });
    h.tools.register(testTool("stuck", () => new Promise(() => {})));
    h.model.script(callTool("c1", "stuck", { value: "x" }), say("moving on"));
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("tool-result")[0]!.content).toContain("timed out after 20 ms");
    expect(rec.of("done")[0]!.reason).toBe("stop");
  });

  test("tool output is capped in history and in tool-output events", async () => {
    using h = harness({ config: { toolOutputCap: 200 } });
    h.tools.register(
      testTool("big", async (_a, _s, out) => {
        out("x".repeat(150));
        out("y".repeat(150));
        return { content: "z".repeat(1000), isError: false };
      }),
    );
    h.model.script(callTool("c1", "big", { value: "x" }), say("ok"));
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    const streamed = rec
      .of("tool-output")
      .map((o) => o.data)
      .join("");
    expect(streamed.length).toBe(200);
    const content = rec.of("tool-result")[0]!.content;
    expect(content.length).toBeLessThanOrEqual(200);
    expect(content).toContain("characters omitted");
  });

  test("a throwing tool becomes an error result, never a crash", async () => {
    using h = harness();
    h.tools.register(
      testTool("boom", async () => {
        throw new Error("kaboom");
      }),
    );
    h.model.script(callTool("c1", "boom", { value: "x" }), say("ok"));
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("tool-result")[0]).toMatchObject({ isError: true, content: "tool boom failed: kaboom" });
  });

  test("a tool whose validation throws becomes an error result, and the step is still persisted", async () => {
    using h = harness();
    h.tools.register({
      ...testTool("fragile", async () => ({ content: "never", isError: false })),
      validate: () => {
        throw new Error("schema compiler exploded");
      },
    });
    h.model.script(callTool("c1", "fragile", { value: "x" }, "trying"), say("ok"));
    const { rec, turnId, conversationId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("tool-result")[0]).toMatchObject({
      isError: true,
      content: "tool fragile failed: schema compiler exploded",
    });
    expect(rec.of("done")[0]!.reason).toBe("stop");
    const roles = ok(h.store.loadHistory(conversationId)).messages.map((m) => m.role);
    expect(roles).toEqual(["user", "assistant", "tool", "assistant"]);
  });

  test("identical tool calls each run, results in call order", async () => {
    using h = harness();
    let runs = 0;
    h.tools.register(
      testTool("count", async ({ value }) => ({ content: `${value}#${++runs}`, isError: false })),
    );
    h.model.script(
      [
        { type: "tool-call", toolCallId: "a", toolName: "count", input: { value: "same" } },
        { type: "tool-call", toolCallId: "b", toolName: "count", input: { value: "same" } },
        { type: "finish", reason: "tool-calls" },
      ],
      say("ok"),
    );
    const { rec, turnId } = start(h);
    await rec.sealed(turnId);
    expect(runs).toBe(2);
    const toolMsg = h.model.requests[1]!.messages.at(-1)!;
    expect(toolMsg.chunks.map((c) => (c.type === "tool-result" ? c.toolCallId : "?"))).toEqual(["a", "b"]);
  });

  test("reasoning deltas are streamed and stored as a thinking chunk", async () => {
    using h = harness();
    h.model.script([
      { type: "reasoning-delta", delta: "hmm " },
      { type: "reasoning-delta", delta: "ok" },
      { type: "text-delta", delta: "answer" },
      { type: "finish", reason: "stop" },
    ]);
    const { rec, turnId, conversationId } = start(h);
    await rec.sealed(turnId);
    expect(rec.of("reasoning-delta").map((e: AgentEvent & { delta?: string }) => e.delta)).toEqual([
      "hmm ",
      "ok",
    ]);
    const stored = ok(h.store.readWindow(conversationId)).chunks.map((c) => c.chunk);
    expect(stored.slice(1)).toEqual([
      { type: "thinking", text: "hmm ok" },
      { type: "text", text: "answer" },
    ]);
  });
});
