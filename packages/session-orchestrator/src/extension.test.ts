import { expect, test } from "bun:test";
import path from "node:path";
import {
  ConversationLog,
  conversationStoreExtension,
  MessageQueueStore,
  openConversationStore,
} from "@dispatch/conversation-store";
import { createHost } from "@dispatch/kernel";
import { localKind } from "@dispatch/provider-local";
import { providersExtension } from "@dispatch/providers";
import { SurfaceRegistry } from "@dispatch/surface-registry";
import { openaiText } from "@dispatch/testkit";
import { MESSAGE_QUEUE_SURFACE_ID } from "./contract";
import { type DaemonFixture, startDaemonFixture } from "./daemon-fixture";
import { sessionOrchestratorExtension } from "./extension";
import { loopbackEnv, ok, Recorder } from "./test-support";

const env = loopbackEnv("notes\n");

test("an invalid config section disables the extension with a reason naming the field", async () => {
  const host = createHost({
    extensions: [
      conversationStoreExtension({ path: path.join(env.dir, "d.db") }),
      providersExtension({ env: {}, kinds: [localKind()] }),
      sessionOrchestratorExtension(),
    ],
    config: { "session-orchestrator": { maxSteps: 0 } },
  });
  const report = await host.start();
  try {
    const disabled = report.disabled.find((d) => d.id === "session-orchestrator");
    expect(disabled?.reason).toContain("maxSteps");
  } finally {
    await host.stop();
  }
});

test("the message-queue surface is registered and lists a conversation's queue", async () => {
  await using d = await startDaemonFixture({
    dbPath: path.join(env.dir, "d.db"),
    baseUrl: env.server.url,
    cwd: env.dir,
  });
  const registry = d.host.get(SurfaceRegistry);
  expect(registry.catalog()).toContainEqual({
    id: MESSAGE_QUEUE_SURFACE_ID,
    region: "composer",
    title: "Queued messages",
    scope: "conversation",
  });
  env.server.script({ type: "stream", steps: [{ type: "text", text: "busy" }, { type: "hang" }] });
  const conversationId = crypto.randomUUID();
  const rec = new Recorder();
  d.orch.subscribe(conversationId, rec.listener);
  const changed: (string | undefined)[] = [];
  registry.onSpecChanged((surfaceId, ctx) => {
    if (surfaceId === MESSAGE_QUEUE_SURFACE_ID) changed.push(ctx?.conversationId);
  });
  ok(d.orch.startTurn({ conversationId, message: "go" }));
  await rec.waitForType("text-delta");
  const q = ok(d.orch.enqueue(conversationId, "next"));
  const spec = ok(await registry.getSpec(MESSAGE_QUEUE_SURFACE_ID, { conversationId }));
  expect(spec.fields.map((f) => f.kind)).toEqual(["stat", "button"]);
  ok(await registry.invoke(MESSAGE_QUEUE_SURFACE_ID, `cancel:${q.messageId}`, undefined, { conversationId }));
  expect(d.orch.queue(conversationId)).toEqual([]);
  expect(changed).toEqual([conversationId, conversationId]);
  d.orch.stopTurn(conversationId);
  await rec.sealed();
});

/** Starts a turn whose answer streams "long" and then hangs; resolves once "long" arrived. */
async function startLongTurn(d: DaemonFixture) {
  env.server.script({ type: "stream", steps: [{ type: "text", text: "long" }, { type: "hang" }] });
  const conversationId = crypto.randomUUID();
  const rec = new Recorder();
  d.orch.subscribe(conversationId, rec.listener);
  const { turnId } = ok(d.orch.startTurn({ conversationId, message: "go" }));
  await rec.waitForType("text-delta");
  return { conversationId, turnId, rec };
}

test("host.stop() aborts running turns and seals them before the store closes", async () => {
  const dbPath = path.join(env.dir, "d.db");
  const d = await startDaemonFixture({ dbPath, baseUrl: env.server.url, cwd: env.dir });
  const { conversationId, turnId, rec } = await startLongTurn(d);
  await d.host.stop();
  expect(rec.turnTypes.at(-1)).toBe("turn-sealed");
  expect(rec.of("done")[0]!.reason).toBe("aborted");
  const store = openConversationStore({ path: dbPath });
  try {
    expect(store.getTurn(turnId)?.status).toBe("aborted");
    expect(store.getConversation(conversationId)?.status).toBe("idle");
    const last = ok(store.readWindow(conversationId)).chunks.at(-1);
    expect(last?.chunk).toEqual({ type: "text", text: "long" });
  } finally {
    store.close();
  }
});

test("host.stop() keeps queued messages: written into the stopped turn, read by the next turn after a restart", async () => {
  const dbPath = path.join(env.dir, "d.db");
  const boot = () => startDaemonFixture({ dbPath, baseUrl: env.server.url, cwd: env.dir });
  const d = await boot();
  const { conversationId, turnId, rec } = await startLongTurn(d);
  const queued = ok(d.orch.enqueue(conversationId, "and then this"));
  await d.host.stop();
  expect(rec.turnTypes.slice(-3)).toEqual(["steering", "done", "turn-sealed"]);
  expect(rec.of("steering")[0]).toMatchObject({ turnId, text: "and then this" });

  await using again = await boot();
  // Written into the history and out of the durable queue in one transaction: not both, not neither.
  expect(again.host.get(MessageQueueStore).listQueuedMessages(conversationId)).toEqual([]);
  expect(again.orch.queue(conversationId)).toEqual([]);
  const stored = ok(again.host.get(ConversationLog).readWindow(conversationId)).chunks;
  expect(stored.at(-1)).toMatchObject({
    role: "user",
    messageId: queued.messageId,
    chunk: { type: "text", text: "and then this" },
  });
  env.server.script(openaiText("done"));
  const next = new Recorder();
  again.orch.subscribe(conversationId, next.listener);
  const t2 = ok(again.orch.startTurn({ conversationId, message: "continue" }));
  await next.sealed(t2.turnId);
  const body = env.server.requests.filter((r) => r.path.endsWith("/chat/completions"))[1]?.body as {
    messages: { role: string; content?: unknown }[];
  };
  expect(body.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "user"]);
  expect(JSON.stringify(body.messages[3])).toContain("and then this");
});
