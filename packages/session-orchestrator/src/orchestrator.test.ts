import { describe, expect, test } from "bun:test";
import { withTimeout } from "@dispatch/testkit";
import { createPermissionGate, PermissionConfig } from "@dispatch/tools";
import { cancelActionId, messageQueueSurface } from "./message-queue-surface";
import {
  blockingTool,
  callTool,
  gated,
  harness,
  ok,
  Recorder,
  ScriptedModel,
  say,
  testTool,
  WAIT_MS,
} from "./test-support";

/** The real permission gate, asking for every call of the `echo` test tool. */
function askingGate() {
  return createPermissionGate({ config: PermissionConfig.parse({ tools: { echo: "ask" } }) });
}

const echo = testTool("echo", async ({ value }) => ({ content: `echo:${value}`, isError: false }));

describe("orchestrator", () => {
  test("single flight: a second start is refused with ORCH_TURN_RUNNING", async () => {
    using h = harness();
    const g = gated("a");
    h.model.script(g.script);
    const rec = new Recorder();
    const { conversationId, turnId } = ok(h.orch.startTurn({ message: "one" }));
    h.orch.subscribe(conversationId, rec.listener);
    const second = h.orch.startTurn({ conversationId, message: "two" });
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.error.code).toBe("ORCH_TURN_RUNNING");
      expect(second.error.message).toBe("a turn is already generating for this conversation");
    }
    expect(h.orch.status(conversationId)).toEqual({ conversationId, isActive: true, status: "active" });
    g.release();
    await rec.sealed(turnId);
    expect(h.orch.status(conversationId)).toEqual({ conversationId, isActive: false, status: "idle" });
  });

  test("refusals: empty message, unknown model, closed conversation", async () => {
    using h = harness();
    expect(h.orch.startTurn({ message: "  " })).toMatchObject({
      ok: false,
      error: { code: "ORCH_INVALID_REQUEST" },
    });
    expect(h.orch.startTurn({ message: "x", model: "nope/none" })).toMatchObject({
      ok: false,
      error: { code: "ORCH_UNKNOWN_MODEL" },
    });
    h.model.script(say("hi"));
    const { conversationId } = ok(h.orch.startTurn({ message: "x" }));
    await h.orch.whenSettled(conversationId);
    ok(await h.orch.closeConversation(conversationId));
    expect(h.orch.startTurn({ conversationId, message: "again" })).toMatchObject({
      ok: false,
      error: { code: "ORCH_CONVERSATION_CLOSED" },
    });
    expect(h.orch.enqueue(conversationId, "again")).toMatchObject({
      ok: false,
      error: { code: "ORCH_CONVERSATION_CLOSED" },
    });
  });

  test("two subscribers and a late joiner see identical sequences; resume replays only what was missed", async () => {
    using h = harness();
    const g = gated("first");
    h.model.script(g.script);
    const conversationId = crypto.randomUUID();
    const a = new Recorder();
    const b = new Recorder();
    h.orch.subscribe(conversationId, a.listener);
    h.orch.subscribe(conversationId, b.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "go" }));
    await a.waitForType("text-delta");

    const late = new Recorder();
    h.orch.subscribe(conversationId, late.listener);
    // Simulated disconnect: a client saw events up to n=2, then reconnects with resume.
    const resumed = new Recorder();
    const off = h.orch.subscribe(conversationId, resumed.listener, { turnId, n: 2 });
    g.release();
    await a.sealed(turnId);

    const numbered = (r: Recorder) => r.entries.filter((e) => e.n !== undefined);
    expect(numbered(b)).toEqual(numbered(a));
    expect(numbered(late)).toEqual(numbered(a));
    expect(numbered(resumed)).toEqual(numbered(a).slice(2));
    expect(numbered(a).map((e) => e.n)).toEqual(numbered(a).map((_, i) => i + 1));
    off();

    // After the turn is sealed, a resume of that turn still gets the tail it missed.
    const after = h.orch.replay(conversationId, { turnId, n: numbered(a).length - 1 });
    expect(after.map((e) => e.event.type)).toEqual(["turn-sealed"]);
    expect(h.orch.replay(conversationId)).toEqual([]);
  });

  test("a throwing subscriber never affects the others", async () => {
    using h = harness({
      onLive: () => {
        throw new Error("bad live tap");
      },
    });
    h.model.script(say("hi"));
    const conversationId = crypto.randomUUID();
    h.orch.subscribe(conversationId, () => {
      throw new Error("bad listener");
    });
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "go" }));
    await rec.sealed(turnId);
    expect(rec.of("done")[0]!.reason).toBe("stop");
    expect(h.logger.records.some((r) => r.level === "error" && r.fields.error === "bad listener")).toBe(true);
    expect(h.logger.records.some((r) => r.level === "error" && r.fields.error === "bad live tap")).toBe(true);
  });

  test("the live tap sees every live event once with its n", async () => {
    const seen: [string, string, number | undefined][] = [];
    using h = harness({ onLive: (c, e, n) => seen.push([c, e.type, n]) });
    h.model.script(say("hi"));
    const { conversationId, turnId } = ok(h.orch.startTurn({ message: "go" }));
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    await rec.sealed(turnId);
    expect(seen.filter(([, t]) => t !== "status").map(([, , n]) => n)).toEqual(
      rec.entries.filter((e) => e.n !== undefined).map((e) => e.n),
    );
    expect(seen.every(([c]) => c === conversationId)).toBe(true);
  });

  test("queue → steering: a message queued during a tool is delivered at the tool-result boundary", async () => {
    using h = harness();
    const tool = blockingTool(h);
    h.model.script(callTool("c1", "slow", { value: "x" }), say("adjusted"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "start" }));
    await tool.running();
    const q = ok(h.orch.enqueue(conversationId, "also do Y"));
    expect(q.startedTurn).toBe(false);
    expect(q.queue.map((m) => m.text)).toEqual(["also do Y"]);
    expect(h.orch.status(conversationId)?.status).toBe("queued");
    tool.release();
    await rec.sealed(turnId);
    expect(rec.of("steering").map((e) => e.text)).toEqual(["also do Y"]);
    const types = rec.types;
    expect(types.indexOf("steering")).toBeGreaterThan(types.indexOf("tool-result"));
    expect(types.indexOf("steering")).toBeLessThan(types.indexOf("step-complete"));
    const req = h.model.requests[1]!;
    expect(req.messages.at(-1)).toMatchObject({
      role: "user",
      chunks: [{ type: "text", text: "also do Y" }],
    });
    expect(h.orch.queue(conversationId)).toEqual([]);
    expect(rec.of("status").map((s) => s.status)).toEqual(["active", "queued", "active", "idle"]);
    // Only one turn ran.
    expect(rec.of("turn-start").length).toBe(1);
  });

  test("queue → carry: messages queued during a final answer start a new turn when it ends", async () => {
    using h = harness();
    const g = gated("thinking");
    h.model.script(g.script, say("second answer"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "first" }));
    await rec.waitForType("text-delta");
    const a = ok(h.orch.enqueue(conversationId, "then A"));
    ok(h.orch.enqueue(conversationId, "then B"));
    const c = ok(h.orch.enqueue(conversationId, "cancel me"));
    expect(h.orch.cancelQueued(conversationId, c.messageId)).toMatchObject({ cancelled: true });
    expect(h.orch.cancelQueued(conversationId, c.messageId).cancelled).toBe(false);
    expect(h.orch.queue(conversationId).map((m) => m.text)).toEqual(["then A", "then B"]);
    expect(a.startedTurn).toBe(false);
    g.release();
    await rec.sealed(turnId);
    const second = await rec.waitFor(
      (e) => e.type === "user-message" && e.turnId !== turnId,
      "the carried turn",
    );
    expect(second).toMatchObject({ type: "user-message", text: "then A\n\nthen B" });
    if (second.type !== "user-message") throw new Error("unreachable");
    await rec.sealed(second.turnId);
    expect(rec.of("steering")).toEqual([]);
    const statuses = rec.of("status").map((s) => s.status);
    expect(statuses).toEqual(["active", "queued", "active", "idle"]);
    const turns = h.store.listTurns(conversationId);
    expect(turns.map((t) => t.status)).toEqual(["completed", "completed"]);
  });

  test("the queue is bounded: past maxQueuedMessages enqueue is refused and nothing is queued", async () => {
    using h = harness({ config: { maxQueuedMessages: 2 } });
    const g = gated("x");
    h.model.script(g.script, say("y"));
    const { conversationId, turnId } = ok(h.orch.startTurn({ message: "go" }));
    ok(h.orch.enqueue(conversationId, "one"));
    ok(h.orch.enqueue(conversationId, "two"));
    const third = h.orch.enqueue(conversationId, "three");
    expect(third).toMatchObject({ ok: false, error: { code: "ORCH_QUEUE_FULL" } });
    expect(third.ok ? "" : third.error.message).toContain("maxQueuedMessages");
    expect(h.orch.queue(conversationId).map((m) => m.text)).toEqual(["one", "two"]);
    // Each queued message leaves a trace in the log (it would be the only one after a crash), without its text.
    const traces = h.logger.records.filter((r) => r.msg === "message queued");
    expect(traces.map((r) => r.fields)).toEqual([
      { conversationId, messageId: expect.any(String), chars: 3 },
      { conversationId, messageId: expect.any(String), chars: 3 },
    ]);
    g.release();
    await h.orch.whenSettled(conversationId, turnId);
    const carried = h.orch.runningTurn(conversationId);
    if (carried) await h.orch.whenSettled(conversationId, carried);
  });

  test("a turn started from a turn-sealed listener is announced active, never overtaken by the old idle", async () => {
    using h = harness();
    h.model.script(say("one"), say("two"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    let second: string | undefined;
    h.orch.subscribe(conversationId, (e, n) => {
      rec.listener(e, n);
      if (e.type === "turn-sealed" && second === undefined) {
        second = ok(h.orch.startTurn({ conversationId, message: "again" })).turnId;
      }
    });
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "go" }));
    await rec.sealed(turnId);
    expect(h.orch.status(conversationId)).toEqual({ conversationId, isActive: true, status: "active" });
    expect(rec.of("status").at(-1)?.status).toBe("active");
    await rec.sealed(second);
    // The first turn's idle was written but never announced: the second turn had begun by then.
    expect(rec.of("status").map((s) => s.status)).toEqual(["active", "active", "idle"]);
    expect(h.store.getConversation(conversationId)?.status).toBe("idle");
  });

  test("enqueue on an idle conversation starts a turn", async () => {
    using h = harness();
    h.model.script(say("ok"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const r = ok(h.orch.enqueue(conversationId, "hello", { workspaceId: "ws1" }));
    expect(r.startedTurn).toBe(true);
    await rec.sealed(r.turnId);
    expect(h.store.getConversation(conversationId)?.workspaceId).toBe("ws1");
    const user = ok(h.store.readWindow(conversationId)).chunks[0]!;
    expect(user.messageId).toBe(r.messageId);
  });

  test("the message-queue surface lists queued messages and cancels them", async () => {
    using h = harness();
    const g = gated("x");
    h.model.script(g.script, say("y"));
    const surface = messageQueueSurface(h.orch);
    expect(surface.catalogEntry).toMatchObject({ id: "message-queue", scope: "conversation" });
    const changes: (string | undefined)[] = [];
    surface.subscribe?.((ctx) => changes.push(ctx?.conversationId));
    const { conversationId, turnId } = ok(h.orch.startTurn({ message: "go" }));
    const q = ok(h.orch.enqueue(conversationId, "later please"));
    const spec = await surface.getSpec({ conversationId });
    expect(spec.fields).toEqual([
      { kind: "stat", label: "Queued #1", value: "later please" },
      { kind: "button", label: "Cancel", action: { actionId: cancelActionId(q.messageId) } },
    ]);
    await surface.invoke(cancelActionId(q.messageId), undefined, { conversationId });
    expect(h.orch.queue(conversationId)).toEqual([]);
    expect(() => surface.invoke(cancelActionId(q.messageId), undefined, { conversationId })).toThrow(
      "is not queued",
    );
    expect(changes).toEqual([conversationId, conversationId]);
    g.release();
    await h.orch.whenSettled(conversationId, turnId);
  });

  test("sticky settings: a per-turn value overrides and is remembered; cwd falls back to the workspace", async () => {
    const other = new ScriptedModel("fake/other");
    using h = harness({ models: [other] });
    ok(h.store.createWorkspace({ id: "proj", defaultCwd: "/tmp/proj" }));
    h.model.script(say("one"));
    const { conversationId } = ok(
      h.orch.startTurn({ message: "a", workspaceId: "proj", reasoningEffort: "high" }),
    );
    await h.orch.whenSettled(conversationId);
    expect(h.settings.getSettings(conversationId)).toMatchObject({
      model: "fake/model",
      workspaceId: "proj",
      reasoningEffort: "high",
      effectiveCwd: "/tmp/proj",
    });
    expect(h.model.requests[0]!.reasoningEffort).toBe("high");
    expect(h.model.requests[0]!.system).toContain("/tmp/proj");

    other.script(say("two"), say("three"));
    ok(h.orch.startTurn({ conversationId, message: "b", model: "fake/other", cwd: "/tmp/else" }));
    await h.orch.whenSettled(conversationId);
    ok(h.orch.startTurn({ conversationId, message: "c" }));
    await h.orch.whenSettled(conversationId);
    expect(other.requests.length).toBe(2);
    expect(h.settings.getSettings(conversationId)).toMatchObject({
      model: "fake/other",
      cwd: "/tmp/else",
      effectiveCwd: "/tmp/else",
    });

    expect(h.settings.updateSettings(conversationId, { model: "missing/x" })).toMatchObject({
      ok: false,
      error: { code: "ORCH_UNKNOWN_MODEL" },
    });
    const s = ok(h.settings.updateSettings(conversationId, { cwd: null, title: "renamed" }));
    expect(s).toMatchObject({ title: "renamed", effectiveCwd: "/tmp/proj" });
    expect(s.cwd).toBeUndefined();
    expect(h.settings.getSettings("nope")).toBeUndefined();
  });

  test("closeConversation aborts the running turn, waits for the seal and marks the conversation closed", async () => {
    using h = harness();
    const g = gated("x");
    h.model.script(g.script);
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    ok(h.orch.startTurn({ conversationId, message: "go" }));
    await rec.waitForType("text-delta");
    ok(h.orch.enqueue(conversationId, "never delivered"));
    const closed = ok(await h.orch.closeConversation(conversationId));
    expect(closed).toEqual({ conversationId, abortedTurn: true });
    expect(rec.types.slice(-2)).toEqual(["turn-sealed", "status"]);
    expect(rec.of("done")[0]!.reason).toBe("aborted");
    expect(h.orch.status(conversationId)).toEqual({ conversationId, isActive: false, status: "closed" });
    expect(h.orch.queue(conversationId)).toEqual([]);
    const changes = h.emitted.filter((e) => e.event === "conversation.statusChanged").map((e) => e.payload);
    expect(changes.at(-1)).toEqual({ conversationId, status: "closed", workspaceId: "default" });
    expect(await h.orch.closeConversation("unknown")).toMatchObject({
      ok: false,
      error: { code: "ORCH_UNKNOWN_CONVERSATION" },
    });
  });

  test("openConversation emits ConversationOpened with the persisted workspace", async () => {
    using h = harness();
    h.model.script(say("x"));
    const { conversationId } = ok(h.orch.startTurn({ message: "go", workspaceId: "ws9" }));
    await h.orch.whenSettled(conversationId);
    expect(ok(h.orch.openConversation(conversationId))).toEqual({ conversationId, workspaceId: "ws9" });
    expect(h.emitted.at(-1)).toEqual({
      event: "conversation.opened",
      payload: { conversationId, workspaceId: "ws9" },
    });
    expect(h.orch.openConversation("missing")).toMatchObject({
      ok: false,
      error: { code: "ORCH_UNKNOWN_CONVERSATION" },
    });
  });

  test("shutdown aborts every turn and resolves once all are sealed; later starts are refused", async () => {
    using h = harness();
    const g1 = gated("a");
    const g2 = gated("b");
    h.model.script(g1.script, g2.script);
    const r1 = new Recorder();
    const r2 = new Recorder();
    const c1 = ok(h.orch.startTurn({ message: "one" }));
    const c2 = ok(h.orch.startTurn({ message: "two" }));
    h.orch.subscribe(c1.conversationId, r1.listener);
    h.orch.subscribe(c2.conversationId, r2.listener);
    await r1.waitForType("text-delta");
    await r2.waitForType("text-delta");
    await withTimeout(h.orch.shutdown(), WAIT_MS, "shutdown");
    expect(r1.turnTypes.at(-1)).toBe("turn-sealed");
    expect(r2.turnTypes.at(-1)).toBe("turn-sealed");
    expect(h.store.getTurn(c1.turnId)?.status).toBe("aborted");
    expect(h.orch.startTurn({ message: "three" })).toMatchObject({
      ok: false,
      error: { code: "ORCH_SHUTTING_DOWN" },
    });
  });

  test("permission gate: ask → allow runs the tool; deny becomes an error result; pending requests are re-sent", async () => {
    const gate = askingGate();
    using h = harness({ gate });
    h.tools.register(echo);
    h.model.script(callTool("c1", "echo", { value: "1" }), callTool("c2", "echo", { value: "2" }), say("ok"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "go" }));
    const req1 = await rec.waitForType("permission-request");

    // A subscriber joining now sees the request once (in the replay), not twice.
    const late = new Recorder();
    h.orch.subscribe(conversationId, late.listener);
    expect(late.of("permission-request").length).toBe(1);
    expect(h.orch.replay(conversationId).filter((e) => e.event.type === "permission-request").length).toBe(1);

    expect(gate.resolve(conversationId, "nope", "allow")).toMatchObject({ ok: false });
    if (req1.type !== "permission-request") throw new Error("unreachable");
    ok(gate.resolve(conversationId, req1.requestId, "allow"));
    const req2 = await rec.waitFor(
      (e) => e.type === "permission-request" && e.requestId !== req1.requestId,
      "the second permission request",
    );
    if (req2.type !== "permission-request") throw new Error("unreachable");
    ok(gate.resolve(conversationId, req2.requestId, "deny"));
    await rec.sealed(turnId);
    const results = rec.of("tool-result");
    expect(results.map((r) => [r.toolCallId, r.isError])).toEqual([
      ["c1", false],
      ["c2", true],
    ]);
    expect(results[1]!.content).toBe("permission denied for echo: denied by the user");
    expect(rec.of("permission-resolved").map((e) => e.decision)).toEqual(["allow", "deny"]);
  });

  test("a pending permission request resolves deny when the turn is stopped", async () => {
    const gate = askingGate();
    using h = harness({ gate });
    h.tools.register(echo);
    h.model.script(callTool("c1", "echo", { value: "1" }));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    h.orch.subscribe(conversationId, rec.listener);
    const { turnId } = ok(h.orch.startTurn({ conversationId, message: "go" }));
    await rec.waitForType("permission-request");
    h.orch.stopTurn(conversationId);
    await rec.sealed(turnId);
    expect(rec.of("permission-resolved")[0]!.decision).toBe("deny");
    expect(rec.of("done")[0]!.reason).toBe("aborted");
    expect(gate.pending(conversationId)).toEqual([]);
  });
});
