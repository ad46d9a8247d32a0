/**
 * End to end: the real store (SQLite file), the real providers over real HTTP to the loopback OpenAI
 * server, the real tools and permission gate, booted in a kernel host.
 */
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { ConversationLog, TurnRecords } from "@dispatch/conversation-store";
import type { Chunk } from "@dispatch/protocol/types";
import {
  anthropicText,
  fragments,
  openaiError,
  openaiText,
  openaiToolCalls,
  startAnthropicServer,
} from "@dispatch/testkit";
import { PermissionGate } from "@dispatch/tools";
import type { OrchestratorConfigInput } from "./config";
import { type DaemonFixture, startDaemonFixture } from "./daemon-fixture";
import { loopbackEnv, ok, Recorder } from "./test-support";

const env = loopbackEnv("the secret word is mango\n");

function boot(
  config?: OrchestratorConfigInput,
  permissions?: Parameters<typeof startDaemonFixture>[0]["permissions"],
) {
  return startDaemonFixture({
    dbPath: path.join(env.dir, "dispatch.db"),
    baseUrl: env.server.url,
    cwd: env.dir,
    ...(config ? { config } : {}),
    ...(permissions ? { permissions } : {}),
  });
}

/** The body of the n-th chat request the server received (0-based). */
function requestBody(n: number): { messages: { role: string; content?: unknown; tool_calls?: unknown }[] } {
  return env.server.requests.filter((r) => r.path.endsWith("/chat/completions"))[n]?.body as never;
}

const numbered = (r: Recorder) => r.entries.filter((e) => e.n !== undefined);

/** Subscribes a recorder to a new conversation (as a client would), then starts a turn with `message`. */
function watchedTurn(d: DaemonFixture, message: string) {
  const conversationId = crypto.randomUUID();
  const rec = new Recorder();
  d.orch.subscribe(conversationId, rec.listener);
  const { turnId } = ok(d.orch.startTurn({ conversationId, message }));
  return { conversationId, turnId, rec };
}

/** The conversation's raw log as persisted. */
function storedChunks(d: DaemonFixture, conversationId: string): Chunk[] {
  return ok(d.host.get(ConversationLog).readWindow(conversationId)).chunks.map((c) => c.chunk);
}

describe("end to end over real HTTP", () => {
  test("a multi-step turn with a real tool call", async () => {
    await using d = await boot();
    env.server.script(
      openaiToolCalls([{ id: "call_1", name: "read_file", args: { path: "notes.txt" } }], {
        text: "Reading.",
      }),
      openaiText("The secret word is mango.", { usage: { promptTokens: 50, completionTokens: 7 } }),
    );
    const { conversationId, turnId, rec } = watchedTurn(d, "what is the secret word?");
    await rec.sealed(turnId);

    const result = rec.of("tool-result")[0]!;
    expect(result).toMatchObject({ toolCallId: "call_1", toolName: "read_file", isError: false });
    expect(result.content).toContain("mango");
    expect(
      rec
        .of("text-delta")
        .map((e) => e.delta)
        .join(""),
    ).toBe("Reading.The secret word is mango.");
    expect(rec.of("done")[0]).toMatchObject({ reason: "stop", usage: { inputTokens: 60, outputTokens: 12 } });
    expect(rec.types.slice(0, 2)).toEqual(["user-message", "turn-start"]);
    expect(rec.turnTypes.at(-1)).toBe("turn-sealed");

    // The second request carried the assistant tool call and its result back to the model.
    const second = requestBody(1).messages;
    expect(second.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(JSON.stringify(second[3]!.content)).toContain("mango");
    expect(d.orch.status(conversationId)).toEqual({ conversationId, isActive: false, status: "idle" });
  });

  test("a search tool call applies the path rules to every file, not only to the folder", async () => {
    await using d = await boot(undefined, { rules: [{ paths: ["**/notes*"], action: "deny" }] });
    env.server.script(
      openaiToolCalls([{ id: "call_1", name: "grep", args: { pattern: "mango" } }]),
      openaiText("Nothing found."),
    );
    const { turnId, rec } = watchedTurn(d, "grep for the secret word");
    await rec.sealed(turnId);
    const result = rec.of("tool-result")[0]!;
    expect(result).toMatchObject({ toolCallId: "call_1", toolName: "grep", isError: false });
    // Without the per-file filter grep would print "notes.txt:1: the secret word is mango".
    expect(result.content).not.toContain("notes.txt");
    expect(result.content).toContain("left out: covered by deny rules");
  });

  test("two subscribers and a late joiner see identical sequences; resume after a disconnect fills the gap", async () => {
    await using d = await boot();
    env.server.script(openaiText("one two three four five six", { delayMs: 15 }));
    const conversationId = crypto.randomUUID();
    const a = new Recorder();
    const b = new Recorder();
    d.orch.subscribe(conversationId, a.listener);
    d.orch.subscribe(conversationId, b.listener);

    // A client that drops its connection after its 4th event and comes back with resume.
    const dropped = new Recorder();
    let off = () => {};
    off = d.orch.subscribe(conversationId, (e, n) => {
      dropped.listener(e, n);
      if (n === 4) off();
    });
    const { turnId } = ok(d.orch.startTurn({ conversationId, message: "count" }));
    const late = new Recorder();
    await a.waitFor((e) => e.type === "text-delta" && e.delta.startsWith("two"), "the second word");
    d.orch.subscribe(conversationId, late.listener);
    d.orch.subscribe(conversationId, dropped.listener, { turnId, n: 4 });
    await a.sealed(turnId);

    expect(numbered(b)).toEqual(numbered(a));
    expect(numbered(late)).toEqual(numbered(a));
    expect(numbered(dropped)).toEqual(numbered(a));
    expect(numbered(a).map((e) => e.n)).toEqual(numbered(a).map((_, i) => i + 1));
  });

  test("queue → steering at the tool-result boundary (the tool waits for a permission answer)", async () => {
    await using d = await boot(undefined, { tools: { read_file: "ask" } });
    env.server.script(
      openaiToolCalls([{ id: "call_1", name: "read_file", args: { path: "notes.txt" } }]),
      openaiText("Noted, and mango."),
    );
    const { conversationId, turnId, rec } = watchedTurn(d, "read notes");
    const ask = await rec.waitForType("permission-request");
    if (ask.type !== "permission-request") throw new Error("unreachable");
    ok(d.orch.enqueue(conversationId, "and answer in one line"));
    expect(d.orch.status(conversationId)?.status).toBe("queued");
    ok(d.host.get(PermissionGate).resolve(conversationId, ask.requestId, "allow"));
    await rec.sealed(turnId);

    expect(rec.of("steering").map((e) => e.text)).toEqual(["and answer in one line"]);
    const second = requestBody(1).messages;
    expect(second.at(-1)).toMatchObject({ role: "user" });
    expect(JSON.stringify(second.at(-1))).toContain("and answer in one line");
    expect(rec.of("turn-start").length).toBe(1);
  });

  test("queue → carry into a new turn when the turn ends", async () => {
    await using d = await boot();
    env.server.script(openaiText("first answer here", { delayMs: 10 }), openaiText("second answer"));
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    let queued = false;
    d.orch.subscribe(conversationId, (e, n) => {
      rec.listener(e, n);
      // Deterministic: queue synchronously on the first delta, while the turn is surely running.
      if (e.type === "text-delta" && !queued) {
        queued = true;
        ok(d.orch.enqueue(conversationId, "follow-up"));
      }
    });
    const { turnId } = ok(d.orch.startTurn({ conversationId, message: "start" }));
    await rec.sealed(turnId);
    const next = await rec.waitFor(
      (e) => e.type === "user-message" && e.turnId !== turnId,
      "the carried turn",
    );
    expect(next).toMatchObject({ text: "follow-up" });
    if (next.type !== "user-message") throw new Error("unreachable");
    await rec.sealed(next.turnId);
    expect(rec.of("done").map((e) => e.reason)).toEqual(["stop", "stop"]);
    expect(JSON.stringify(requestBody(1).messages.at(-1))).toContain("follow-up");
  });

  test("stop mid-stream really cancels the provider request", async () => {
    await using d = await boot();
    env.server.script({
      type: "stream",
      steps: [{ type: "text", text: "starting a long answer" }, { type: "hang" }],
    });
    const { conversationId, turnId, rec } = watchedTurn(d, "go on");
    await rec.waitForType("text-delta");
    expect(d.orch.stopTurn(conversationId).abortedTurn).toBe(true);
    await env.server.waitForAborts(1);
    await rec.sealed(turnId);
    expect(rec.of("done")[0]!.reason).toBe("aborted");
    const settings = d.orch.status(conversationId);
    expect(settings).toEqual({ conversationId, isActive: false, status: "idle" });
    // The partial output is persisted, and the turn is recorded as aborted.
    expect(storedChunks(d, conversationId).at(-1)).toEqual({ type: "text", text: "starting a long answer" });
    expect(d.host.get(TurnRecords).getTurn(turnId)?.status).toBe("aborted");
  });

  test("closing a conversation mid-stream cancels the request, persists the partial output and closes it", async () => {
    await using d = await boot();
    env.server.script({ type: "stream", steps: [{ type: "text", text: "partial words" }, { type: "hang" }] });
    const { conversationId, rec } = watchedTurn(d, "go on");
    await rec.waitForType("text-delta");
    expect(ok(await d.orch.closeConversation(conversationId)).abortedTurn).toBe(true);
    await env.server.waitForAborts(1);
    expect(rec.turnTypes.slice(-2)).toEqual(["done", "turn-sealed"]);
    expect(storedChunks(d, conversationId).at(-1)).toEqual({ type: "text", text: "partial words" });
    expect(d.orch.status(conversationId)?.status).toBe("closed");
  });

  test("HTTP 500 before content is retried; a stream cut after content ends the turn with error", async () => {
    await using d = await boot();
    env.server.script(openaiError(500), openaiText("recovered"), {
      type: "stream",
      steps: [{ type: "text", text: "half" }, { type: "hang" }],
    });
    const conversationId = crypto.randomUUID();
    const rec = new Recorder();
    d.orch.subscribe(conversationId, rec.listener);
    const t1 = ok(d.orch.startTurn({ conversationId, message: "one" }));
    await rec.sealed(t1.turnId);
    expect(rec.of("provider-retry")).toMatchObject([{ attempt: 1 }]);
    expect(rec.of("done")[0]!.reason).toBe("stop");

    const t2 = ok(d.orch.startTurn({ conversationId, message: "two" }));
    await rec.waitFor((e) => e.type === "text-delta" && e.turnId === t2.turnId, "content of the second turn");
    // The connection dies after content was emitted: no retry, an error, and a clean end.
    await env.server.close();
    await rec.sealed(t2.turnId);
    const second = rec.entries.map((e) => e.event).filter((e) => "turnId" in e && e.turnId === t2.turnId);
    expect(second.filter((e) => e.type === "provider-retry")).toEqual([]);
    expect(second.map((e) => e.type).slice(-3)).toEqual(["error", "done", "turn-sealed"]);
    expect(rec.of("done")[1]!.reason).toBe("error");
    expect(d.orch.status(conversationId)?.status).toBe("idle");
    // The half answer is kept, followed by the error that ended it.
    const error = rec.of("error")[0]!;
    expect(storedChunks(d, conversationId).slice(-2)).toEqual([
      { type: "text", text: "half" },
      { type: "error", message: error.message, ...(error.code ? { code: error.code } : {}) },
    ]);
  });

  test("a server error reported in the stream after content ends the turn with error, without retry", async () => {
    await using d = await boot();
    env.server.script({
      type: "stream",
      steps: [
        { type: "text", text: "so far " },
        { type: "error-chunk", message: "upstream model crashed", code: "500" },
      ],
    });
    const { conversationId, turnId, rec } = watchedTurn(d, "go");
    await rec.sealed(turnId);
    expect(rec.of("provider-retry")).toEqual([]);
    expect(rec.of("error")[0]!.message).toContain("upstream model crashed");
    expect(rec.turnTypes.slice(-3)).toEqual(["error", "done", "turn-sealed"]);
    expect(rec.of("done")[0]!.reason).toBe("error");
    expect(env.server.requests.filter((r) => r.path.endsWith("/chat/completions")).length).toBe(1);
    expect(storedChunks(d, conversationId)[1]).toEqual({ type: "text", text: "so far " });
  });

  test("malformed tool arguments become an error result the model reads", async () => {
    await using d = await boot();
    env.server.script(
      openaiToolCalls([{ id: "call_bad", name: "read_file", args: '{"path": "notes.txt' }]),
      openaiToolCalls([{ id: "call_wrong", name: "read_file", args: { file: "notes.txt" } }]),
      openaiText("I could not read it."),
    );
    const { turnId, rec } = watchedTurn(d, "read");
    await rec.sealed(turnId);
    const results = rec.of("tool-result");
    expect(results.map((r) => [r.toolCallId, r.isError])).toEqual([
      ["call_bad", true],
      ["call_wrong", true],
    ]);
    expect(rec.of("done")[0]!.reason).toBe("stop");
    expect(JSON.stringify(requestBody(1).messages.at(-1))).toContain("call_bad");
  });

  test("a long tool argument streamed slowly is activity, not an idle timeout", async () => {
    // Each fragment comes well within idleMs; all of them together take longer than idleMs.
    await using d = await boot({ timeouts: { idleMs: 600 } });
    const args = JSON.stringify({ path: "notes.txt" });
    env.server.script(
      {
        type: "stream",
        steps: [
          { type: "text", text: "Reading." },
          { type: "tool-call", id: "call_1", name: "read_file", args: fragments(args, 4), delayMs: 200 },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      openaiText("mango"),
    );
    const { turnId, rec } = watchedTurn(d, "read it");
    await rec.sealed(turnId);
    expect(rec.of("error")).toEqual([]);
    expect(rec.of("tool-result")[0]).toMatchObject({ toolCallId: "call_1", isError: false });
    expect(rec.of("done")[0]!.reason).toBe("stop");
  });

  test("step cap ends the turn with max-steps", async () => {
    await using d = await boot({ maxSteps: 2 });
    env.server.script(
      openaiToolCalls([{ id: "c1", name: "read_file", args: { path: "notes.txt" } }]),
      openaiToolCalls([{ id: "c2", name: "read_file", args: { path: "notes.txt" } }]),
    );
    const { turnId, rec } = watchedTurn(d, "loop");
    await rec.sealed(turnId);
    expect(rec.of("done")[0]!.reason).toBe("max-steps");
    expect(env.server.pending()).toBe(0);
  });
});

describe("end to end over real HTTP with the Anthropic provider", () => {
  test("thinking, a tool call and its result make a second request with the signed thinking sent back", async () => {
    await using server = startAnthropicServer();
    await using d = await startDaemonFixture({
      dbPath: path.join(env.dir, "dispatch.db"),
      baseUrl: server.url,
      kind: "anthropic",
      cwd: env.dir,
    });
    server.script(
      {
        type: "stream",
        steps: [
          { type: "thinking", text: "The file has it." },
          { type: "signature", signature: "sig-e2e" },
          { type: "tool-use", id: "toolu_1", name: "read_file", args: ['{"path":', '"notes.txt"}'] },
          { type: "stop", reason: "tool_use" },
        ],
        usage: { inputTokens: 40, cacheReadTokens: 30 },
      },
      anthropicText("It is mango."),
    );
    const { turnId, rec } = watchedTurn(d, "what is the secret word?");
    await rec.sealed(turnId);
    expect(rec.of("reasoning-delta").map((e) => e.delta)).toEqual(["The file has it."]);
    expect(rec.of("tool-result")[0]).toMatchObject({ toolCallId: "toolu_1", isError: false });
    expect(rec.of("usage")[0]!.usage).toMatchObject({ inputTokens: 70, cacheReadTokens: 30 });
    expect(rec.of("done")[0]!.reason).toBe("stop");

    // The thinking block went through the store with its signature and back to the API with the tool result.
    const second = server.requests.filter((r) => r.path.endsWith("/messages"))[1]?.body as {
      messages: { role: string; content: { type: string; [k: string]: unknown }[] }[];
    };
    expect(second.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(second.messages[1]!.content).toMatchObject([
      { type: "thinking", thinking: "The file has it.", signature: "sig-e2e" },
      { type: "tool_use", id: "toolu_1", name: "read_file", input: { path: "notes.txt" } },
    ]);
    expect(second.messages[2]!.content[0]).toMatchObject({ type: "tool_result", tool_use_id: "toolu_1" });
    expect(JSON.stringify(second.messages[2]!.content)).toContain("mango");
  });
});
