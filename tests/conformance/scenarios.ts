/**
 * The conformance scenarios (issue 12, item 4), run against a real daemon subprocess by a strict
 * client of one level: what the existing frontend does, step by step. At level 1 any frame outside the
 * original sets is a failure; at level 2 the extended events must arrive as well.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import path from "node:path";
import { DaemonProcess, localModelToml, REPO_ROOT } from "../support/daemon";
import { historySync, StrictClient } from "./strict-client";

/** A turn of the offline model slow enough to act in the middle of: ~`words` tokens `ms` apart. */
const slow = (ms: number, words: number, text: string) => `/slow ${ms}\n/long ${words}\n${text}`;

/** The text of the assistant's chunks in a history window. */
function assistantText(chunks: { role: string; chunk: { type: string; text?: string } }[]): string {
  return chunks
    .filter((c) => c.role === "assistant" && c.chunk.type === "text")
    .map((c) => c.chunk.text ?? "")
    .join("");
}

/** Runs the `dispatch` CLI against the daemon's data folder; resolves with its exit code and output. */
async function cli(home: string, args: string[]): Promise<{ code: number; out: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("DISPATCH_")) env[k] = v;
  const proc = Bun.spawn([process.execPath, path.join(REPO_ROOT, "apps/cli/src/main.ts"), ...args], {
    env: { ...env, DISPATCH_HOME: home, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: out + err };
}

/** The action id of the first button labelled `label` after the stat whose value contains `near`. */
function buttonNear(
  fields: { kind: string; label: string; value?: unknown; action?: { actionId: string } }[],
  near: string,
  label: string,
): string | undefined {
  const at = fields.findIndex((f) => f.kind === "stat" && String(f.value).includes(near));
  if (at < 0) return undefined;
  return fields.slice(at).find((f) => f.kind === "button" && f.label === label)?.action?.actionId;
}

/** `chat.send` as the frontend sends it: its own conversation id, a model, no `id`. */
function chatSend(c: StrictClient, conversationId: string, message: string): void {
  c.send({ type: "chat.send", conversationId, model: "local/echo", message });
}

export function conformanceSuite(level: 1 | 2): void {
  const ext = level === 2;
  let daemon: DaemonProcess;
  const clients: StrictClient[] = [];

  const connect = async (label: string) => {
    const c = await StrictClient.connect(daemon.wsUrl, level, `${label}@L${level}`);
    clients.push(c);
    await c.until(() => c.frames.length > 0, "the catalog");
    if (ext) await c.until(() => c.frames.some((f) => f.type === "hello"), "the hello reply");
    return c;
  };
  /** A frontend's start: catalog, then the surfaces subscribed without a conversation. */
  const frontend = async (label: string) => {
    const c = await connect(label);
    for (const surfaceId of ["permissions", "message-queue"]) c.send({ type: "subscribe", surfaceId });
    await c.until(
      () => c.surface("permissions") !== undefined && c.surface("message-queue") !== undefined,
      "both surfaces",
    );
    return c;
  };
  const clean = (c: StrictClient) =>
    expect({ who: c.label, violations: c.violations }).toEqual({ who: c.label, violations: [] });

  describe(`level ${level}`, () => {
    beforeAll(async () => {
      daemon = await DaemonProcess.start({ toml: localModelToml(0) });
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      await daemon?.dispose();
    });

    test("catalog first, then the surfaces subscribed without a conversationId", async () => {
      const a = await frontend("catalog");
      expect(a.frames[0]?.type).toBe("catalog");
      const ids = ((a.frames[0]?.catalog ?? []) as { id: string }[]).map((e) => e.id);
      expect(ids).toEqual(expect.arrayContaining(["permissions", "message-queue", "loaded-extensions"]));
      expect(a.surface("permissions")?.spec.fields).toEqual([
        { kind: "stat", label: "Permission requests", value: "none pending" },
      ]);
      if (ext) expect(a.frames[1]).toMatchObject({ type: "hello", protocol: 2 });
      clean(a);
    });

    test("chat.send on a client-minted id, history synced before and after, a second connection watching live", async () => {
      const a = await frontend("sender");
      const b = await connect("watcher");
      const cid = crypto.randomUUID();
      const before = await historySync(daemon.httpUrl, cid);
      expect(before).toEqual({ status: 200, body: { chunks: [], latestSeq: 0 } });

      chatSend(a, cid, slow(15, 30, "conformance one"));
      await a.until(() => (a.turns(cid)[0]?.text.length ?? 0) > 0, "the first text");
      b.send({ type: "chat.subscribe", conversationId: cid });
      await Promise.all([
        a.until(() => a.sealedTurns(cid) === 1, "turn-sealed"),
        b.until(() => b.sealedTurns(cid) === 1, "turn-sealed at the watcher"),
      ]);

      const [ta, tb] = [a.turns(cid)[0], b.turns(cid)[0]];
      expect(ta?.text).toContain("conformance one");
      expect(tb?.text).toBe(ta?.text);
      expect(ta?.done).toBe("stop");
      const after = await historySync(daemon.httpUrl, cid, before.body.latestSeq);
      expect(after.status).toBe(200);
      expect(after.body.latestSeq).toBeGreaterThan(0);
      expect(
        after.body.chunks.some((c) => c.role === "user" && c.chunk.text?.includes("conformance one")),
      ).toBe(true);
      expect(assistantText(after.body.chunks)).toBe(ta?.text ?? "");
      if (ext) {
        expect(ta?.ext).toEqual(expect.arrayContaining(["user-message", "step-complete"]));
        expect(tb?.ext).toContain("user-message");
        expect(a.frames.some((f) => f.type === "conversation.presence")).toBe(true);
      } else expect(ta?.ext).toEqual([]);
      clean(a);
      clean(b);
    });

    test("a tool call that needs permission is answered through the permissions surface's global view", async () => {
      const a = await frontend("permissions");
      const other = await frontend("elsewhere");
      const cid = crypto.randomUUID();
      const command = JSON.stringify({ command: `echo conformance-${level}-ok` });
      chatSend(a, cid, `/tool run_shell ${command}`);
      const allowId = () => buttonNear(a.surface("permissions")?.spec.fields ?? [], "", "Allow");
      await a.until(() => allowId() !== undefined, "an Allow button in the permissions view");
      // Every global view lists it, with the tool and the input.
      await other.until(
        () => JSON.stringify(other.surface("permissions")?.spec ?? {}).includes(`conformance-${level}-ok`),
        "the request in another view",
      );
      const fields = a.surface("permissions")?.spec.fields ?? [];
      expect(fields.some((f) => f.kind === "stat" && f.label === "run_shell")).toBe(true);
      expect(fields.some((f) => f.kind === "stat" && f.label === "Conversation")).toBe(true);

      a.send({ type: "invoke", surfaceId: "permissions", actionId: allowId() as string });
      await a.until(() => a.sealedTurns(cid) === 1, "the turn to finish after the answer");
      const tool = [...(a.turns(cid)[0]?.tools.values() ?? [])][0];
      expect(tool?.name).toBe("run_shell");
      expect(tool?.isError).toBe(false);
      expect(tool?.result).toContain(`conformance-${level}-ok`);
      // Answered → gone from every view.
      const none = (c: StrictClient) =>
        JSON.stringify(c.surface("permissions")?.spec ?? {}).includes("none pending");
      await Promise.all([
        a.until(() => none(a), "an empty view"),
        other.until(() => none(other), "an empty view elsewhere"),
      ]);
      if (ext)
        expect(a.turns(cid)[0]?.ext).toEqual(
          expect.arrayContaining(["permission-request", "permission-resolved"]),
        );

      // Answered over HTTP (as the CLI does): gone from every view as well.
      chatSend(a, cid, `/tool run_shell ${JSON.stringify({ command: "echo answered-over-http" })}`);
      await a.until(() => allowId() !== undefined, "the second request in the view");
      const requestId = (allowId() as string).slice("allow:".length);
      await daemon.http.answerPermission(cid, requestId, "deny");
      await Promise.all([
        a.until(() => none(a), "an empty view"),
        other.until(() => none(other), "an empty view elsewhere"),
      ]);
      await a.until(() => a.sealedTurns(cid) === 2, "the second turn");
      expect([...(a.turns(cid)[1]?.tools.values() ?? [])][0]?.isError).toBe(true);
      clean(a);
      clean(other);
    });

    test("chat.queue during a turn: listed in the message-queue view, one cancelled there, the other carried", async () => {
      const a = await frontend("queue");
      const cid = crypto.randomUUID();
      chatSend(a, cid, slow(30, 40, "first of the queue"));
      await a.until(() => (a.turns(cid)[0]?.text.length ?? 0) > 0, "the first text");
      a.send({ type: "chat.queue", conversationId: cid, text: "queued one" });
      a.send({ type: "chat.queue", conversationId: cid, text: "queued two" });
      const cancelTwo = () =>
        buttonNear(a.surface("message-queue")?.spec.fields ?? [], "queued two", "Cancel");
      await a.until(
        () =>
          cancelTwo() !== undefined &&
          buttonNear(a.surface("message-queue")?.spec.fields ?? [], "queued one", "Cancel") !== undefined,
        "both queued messages in the view",
      );
      a.send({ type: "invoke", surfaceId: "message-queue", actionId: cancelTwo() as string });
      await a.until(
        () => !JSON.stringify(a.surface("message-queue")?.spec ?? {}).includes("queued two"),
        "the cancelled message to leave the view",
      );
      await a.until(() => a.sealedTurns(cid) === 2, "the carried turn to be sealed", 40_000);
      const history = await historySync(daemon.httpUrl, cid);
      const users = history.body.chunks.filter((c) => c.role === "user").map((c) => c.chunk.text ?? "");
      expect(users.some((t) => t.includes("queued one"))).toBe(true);
      expect(users.some((t) => t.includes("queued two"))).toBe(false);
      await a.until(
        () => JSON.stringify(a.surface("message-queue")?.spec ?? {}).includes('"none"'),
        "an empty queue view",
      );
      if (ext) expect(a.turns(cid)[1]?.ext).toContain("user-message");
      clean(a);
    }, 60_000);

    test("`dispatch open` reaches the client as conversation.open", async () => {
      const a = await frontend("open");
      const cid = crypto.randomUUID();
      chatSend(a, cid, "open me");
      await a.until(() => a.sealedTurns(cid) === 1, "the turn");
      const run = await cli(daemon.home, ["open", cid]);
      expect({ code: run.code, out: run.out }).toMatchObject({ code: 0 });
      await a.until(() => a.opened.some((f) => f.conversationId === cid), "conversation.open");
      expect(a.opened.find((f) => f.conversationId === cid)?.workspaceId).toEqual(expect.any(String));
      clean(a);
    }, 40_000);

    test("channel.subscribe conversation:* follows every conversation at level 2; level 1 gets a known error type", async () => {
      const watcher = await frontend("wildcard");
      const sender = await connect("wildcard-sender");
      watcher.send({ type: "channel.subscribe", channel: "conversation:*", id: "all" });
      await watcher.until(
        () => watcher.frames.some((f) => f.replyTo === "all"),
        "the answer to channel.subscribe",
      );
      const answer = watcher.frames.find((f) => f.replyTo === "all");
      const cid = crypto.randomUUID();
      chatSend(sender, cid, slow(5, 5, "seen by the wildcard"));
      await sender.until(() => sender.sealedTurns(cid) === 1, "turn-sealed at the sender");
      if (ext) {
        expect(answer?.type).toBe("ack");
        await watcher.until(() => watcher.sealedTurns(cid) === 1, "turn-sealed at the wildcard watcher");
        expect(watcher.turns(cid)[0]?.text).toBe(sender.turns(cid)[0]?.text);
      } else {
        expect(answer).toMatchObject({ type: "error", code: "LEVEL2_REQUIRED" });
        expect(watcher.turns(cid)).toEqual([]);
      }
      clean(watcher);
      clean(sender);
    });

    test("a reconnect mid-turn followed by chat.subscribe replays the turn, then streams it live", async () => {
      const first = await frontend("before-reconnect");
      const cid = crypto.randomUUID();
      chatSend(first, cid, slow(20, 40, "across a reconnect"));
      await first.until(() => (first.turns(cid)[0]?.text.length ?? 0) > 10, "some text");
      first.close();
      await first.closed;
      const again = await frontend("after-reconnect");
      again.send({ type: "chat.subscribe", conversationId: cid });
      await again.until(() => again.sealedTurns(cid) === 1, "turn-sealed after the reconnect");
      const turn = again.turns(cid)[0];
      const history = await historySync(daemon.httpUrl, cid);
      // Replayed from the start of the turn: the folded text is the whole answer.
      expect(turn?.text).toBe(assistantText(history.body.chunks));
      expect(turn?.text).toContain("across a reconnect");
      if (ext) expect(turn?.ext).toContain("user-message");
      clean(first);
      clean(again);
    });
  });
}
