/**
 * Crash-restart: a child bun process runs a turn against the loopback server and is SIGKILLed in the
 * middle of its second step. Reopening the same database leaves the conversation idle, the turn
 * interrupted, a history that reconciles, and a conversation a new turn continues.
 */
import { expect, test } from "bun:test";
import path from "node:path";
import { openConversationStore } from "@dispatch/conversation-store";
import { openaiText, openaiToolCalls, withTimeout } from "@dispatch/testkit";
import { startDaemonFixture } from "./daemon-fixture";
import { loopbackEnv, ok, Recorder, WAIT_MS } from "./test-support";

const env = loopbackEnv("the word is kiwi\n");

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text.split("\n")[0] ?? "";
}

test(
  "SIGKILL mid-turn, then reopen: idle conversation, reconciled history, a new turn continues",
  async () => {
    const { dir, server } = env;
    const dbPath = path.join(dir, "dispatch.db");
    server.script(openaiToolCalls([{ id: "call_1", name: "read_file", args: { path: "notes.txt" } }]), {
      type: "stream",
      steps: [{ type: "text", text: "The word" }, { type: "hang" }],
    });
    const child = Bun.spawn(
      ["bun", path.join(import.meta.dir, "fixtures", "crash-child.ts"), dbPath, server.url, dir],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    try {
      const line = await withTimeout(firstLine(child.stdout), WAIT_MS, "the child's turn ids");
      const { conversationId, turnId } = JSON.parse(line) as { conversationId: string; turnId: string };
      // The second model request starts only after step 1 (tool call + result) is persisted.
      await server.waitForRequests(2, WAIT_MS);
      child.kill("SIGKILL");
      await withTimeout(child.exited, WAIT_MS, "the child to die");

      // Before recovery the crashed state is visible on disk.
      const raw = openConversationStore({ path: dbPath });
      expect(raw.getConversation(conversationId)?.status).toBe("active");
      raw.close();

      await using d = await startDaemonFixture({ dbPath, baseUrl: server.url, cwd: dir });
      expect(d.orch.status(conversationId)).toEqual({ conversationId, isActive: false, status: "idle" });

      server.script(openaiText("The word is kiwi."));
      const rec = new Recorder();
      d.orch.subscribe(conversationId, rec.listener);
      const next = ok(d.orch.startTurn({ conversationId, message: "go on" }));
      await rec.sealed(next.turnId);
      expect(rec.of("done")[0]!.reason).toBe("stop");

      // The new request carried the reconciled history: user, tool call, its result, the new message.
      const body = server.requests.filter((r) => r.path.endsWith("/chat/completions"))[2]?.body as {
        messages: { role: string; content?: unknown }[];
      };
      expect(body.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "user"]);
      expect(JSON.stringify(body.messages[3]!.content)).toContain("kiwi");
      expect(d.orch.status(conversationId)?.status).toBe("idle");

      const store = openConversationStore({ path: dbPath });
      try {
        const turns = store.listTurns(conversationId);
        expect(turns.map((t) => [t.turnId, t.status])).toEqual([
          [turnId, "interrupted"],
          [next.turnId, "completed"],
        ]);
        const roles = ok(store.loadHistory(conversationId)).messages.map((m) => m.role);
        expect(roles).toEqual(["user", "assistant", "tool", "user", "assistant"]);
      } finally {
        store.close();
      }
    } finally {
      child.kill("SIGKILL");
    }
  },
  { timeout: 20_000 },
);
