/**
 * The real `dispatch` binary against a real daemon subprocess (free ports, temp data folder).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  reap,
  startDaemon,
  tempHome,
  WsClient,
  withUnrelatedProcess,
  writeStaleDaemonFiles,
} from "@dispatch/daemon/test-support";
import { findDaemon } from "@dispatch/discovery";
import { withTimeout } from "@dispatch/testkit/wait";
import { cliEnv, daemonForFile, MAIN, cli as runCli } from "./cli.test-support";

/** Pipes, and NO_COLOR as a user might set it (colours on a non-terminal are tested without it). */
const cli = (home: string, args: string[], timeoutMs = 20_000) =>
  runCli(home, args, { timeoutMs, env: { NO_COLOR: "1" } });

// Every test spawns processes; a loaded machine needs more than the default 5 s (hooks included).
setDefaultTimeout(30_000);

const file = daemonForFile();

describe("dispatch against a running daemon", () => {
  let conversationId = "";

  test("chat mode streams the offline model's answer to stdout", async () => {
    const run = await cli(file.home, ["local/echo", "--text", "hello from the cli"]);
    expect(run.stderr).not.toContain("starting one");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Echo from local/echo");
    expect(run.stdout).toContain("hello from the cli");
    const list = await cli(file.home, ["list", "--json"]);
    const conversations = JSON.parse(list.stdout).conversations as { id: string; title: string }[];
    const mine = conversations.find((c) => c.title === "hello from the cli");
    expect(mine).toBeDefined();
    conversationId = mine!.id;
  });

  test("--json chat prints every event as NDJSON, ending with turn-sealed", async () => {
    const run = await cli(file.home, ["local/echo", "--text", "json please", "--json"]);
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe("user-message");
    expect(events.at(-1)?.type).toBe("turn-sealed");
  });

  test("read, list and a short id prefix", async () => {
    const prefix = conversationId.slice(0, 8);
    const read = await cli(file.home, ["read", prefix]);
    expect(read.code).toBe(0);
    expect(read.stdout).toContain("you: hello from the cli");
    expect(read.stdout).toContain("assistant: Echo from local/echo");
    const list = await cli(file.home, ["list"]);
    expect(list.stdout).toContain(prefix);
    const unknown = await cli(file.home, ["read", "zzzz-not-an-id"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no conversation matches "zzzz-not-an-id"');
  });

  test("--open reaches every connected frontend as conversation.open with the workspace", async () => {
    const a = new WsClient(`ws://127.0.0.1:${file.daemon.info.wsPort}`, [
      `dispatch.token.${file.daemon.token}`,
    ]);
    const b = new WsClient(`ws://127.0.0.1:${file.daemon.info.wsPort}`, [
      `dispatch.token.${file.daemon.token}`,
    ]);
    try {
      await a.next((f) => f.type === "catalog", "catalog on connect (a)");
      await b.next((f) => f.type === "catalog", "catalog on connect (b)");
      const run = await cli(file.home, ["open", conversationId.slice(0, 8)]);
      expect(run.code).toBe(0);
      for (const client of [a, b]) {
        const frame = await client.next((f) => f.type === "conversation.open", "conversation.open");
        expect(frame).toEqual({ type: "conversation.open", conversationId, workspaceId: "default" });
      }
      const chat = await cli(file.home, ["local/echo", "--text", "open me", "--workspace", "web", "--open"]);
      expect(chat.code).toBe(0);
      const opened = await a.next(
        (f) => f.type === "conversation.open" && f.conversationId !== conversationId,
        "conversation.open of the new chat",
      );
      expect(opened.workspaceId).toBe("web");
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  // Before the queue test: the local model would read that test's `/slow` lines in the summary prompt.
  test("compact summarizes a conversation by its short id", async () => {
    const run = await cli(file.home, ["compact", conversationId.slice(0, 8), "--keep", "1", "--json"]);
    expect(run.code).toBe(0);
    const res = JSON.parse(run.stdout) as { conversationId: string; newConversationId: string };
    expect(res.conversationId).toBe(conversationId);
    expect(res.newConversationId).not.toBe(conversationId);
    const text = await cli(file.home, ["compact", conversationId.slice(0, 8)]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain("(ORCH_NOTHING_TO_COMPACT)");
  });

  test("send --queue starts a turn when idle; stop ends a running one", async () => {
    const prefix = conversationId.slice(0, 8);
    const queued = await cli(file.home, [
      "send",
      prefix,
      "--text",
      "/slow 100\n/long 200\nkeep going",
      "--queue",
    ]);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toContain("started a turn");
    const more = await cli(file.home, ["send", prefix, "--text", "after that", "--queue"]);
    expect(more.stdout).toContain("queued (1 waiting)");
    const stop = await cli(file.home, ["stop", prefix]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain("stopped the running turn");
  });

  test("a tool that needs permission is denied without a terminal, with a hint", async () => {
    const run = await cli(file.home, ["local/echo", "--text", '/tool run_shell {"command":"echo hi"}']);
    expect(run.stderr).toContain("denied run_shell (stdin is not a terminal");
    expect(run.stderr).toContain('[permission-gate] tools = { run_shell = "allow" }');
  });

  test("an ambiguous prefix lists every candidate and changes nothing", async () => {
    // 17 conversations: two of them must share a first character (16 hex digits).
    for (let i = 0; i < 17; i++) {
      const res = await file.daemon.api("/chat", {
        method: "POST",
        body: JSON.stringify({ message: `n${i}` }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    const { conversations } = (await (
      await file.daemon.api("/conversations?limit=500&status=active,queued,idle,closed")
    ).json()) as {
      conversations: { id: string }[];
    };
    const byFirst = Map.groupBy(conversations, (c) => c.id[0] as string);
    const [prefix, shared] = [...byFirst].find(([, group]) => group.length >= 2) as [
      string,
      { id: string }[],
    ];
    const run = await cli(file.home, ["stop", prefix]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`"${prefix}" matches ${shared.length} conversations; use a longer prefix`);
    for (const c of shared.slice(0, 10)) expect(run.stderr).toContain(c.id);
    expect(run.stdout).toBe("");
  });

  test("without a terminal nothing is coloured and there is no spinner, even without NO_COLOR", async () => {
    const run = await runCli(file.home, ["local/echo", "--text", '/tool run_shell {"command":"echo plain"}']);
    expect(run.stderr).toContain("▸ run_shell");
    expect(run.stdout + run.stderr).not.toContain("\x1b[");
    expect(run.stderr).not.toContain("waiting for the model");
    const read = await runCli(file.home, ["read", conversationId.slice(0, 8)]);
    expect(read.stdout).not.toContain("\x1b[");
  });

  test("serve --help prints the daemon's usage on stdout and exits 0", async () => {
    const run = await cli(file.home, ["serve", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("usage: dispatch serve");
    expect(run.stderr).toBe("");
  });

  test("usage errors exit 2 and name the problem", async () => {
    const run = await cli(file.home, ["list", "--status", "sleepy"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--status: "sleepy" is not one of');
    const help = await cli(file.home, ["send", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("dispatch send <id>");
  });

  test("models and status", async () => {
    const models = await cli(file.home, ["models", "--json"]);
    expect(JSON.parse(models.stdout).models).toContain("local/echo");
    const status = await cli(file.home, ["status", "--json"]);
    const s = JSON.parse(status.stdout);
    expect(s).toMatchObject({
      running: true,
      pid: file.daemon.info.pid,
      httpPort: file.daemon.info.httpPort,
    });
    expect(s.token).toBeUndefined();
  });
});

describe("when the daemon dies mid-answer", () => {
  test("the CLI says the connection was lost, names the conversation and exits 3", async () => {
    const dying = await startDaemon(await tempHome());
    try {
      const proc = Bun.spawn(["bun", MAIN, "local/echo", "--text", "/slow 50\n/long 400\nuntil the end"], {
        env: cliEnv(dying.home),
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const stderr = new Response(proc.stderr).text();
      const reader = proc.stdout.getReader();
      let stdout = "";
      await withTimeout(
        (async () => {
          while (!stdout.includes("word3")) {
            const { done, value } = await reader.read();
            if (done) throw new Error(`the CLI ended before streaming words: ${stdout}`);
            stdout += new TextDecoder().decode(value);
          }
        })(),
        20_000,
        "the CLI to stream a few words",
      );
      dying.proc.kill("SIGKILL");
      const code = await withTimeout(proc.exited, 20_000, "the CLI to exit after the daemon died");
      expect(code).toBe(3);
      const text = await stderr;
      expect(text).toContain("lost the connection to the daemon during the turn");
      expect(text).toMatch(/saved whole in [0-9a-f-]{36}/);
      expect(text).toContain("marked interrupted");
      expect(text).not.toContain("unexpected error");
    } finally {
      reap(dying);
    }
  });
});

describe("a stale daemon.json", () => {
  test.if(process.platform === "linux")(
    "stop-daemon never signals a process that merely reuses the pid it names",
    async () => {
      const stale = await tempHome();
      await withUnrelatedProcess(async (unrelated) => {
        await writeStaleDaemonFiles(stale, unrelated.pid, "an-earlier-boot/777");
        const status = await cli(stale, ["status"]);
        expect(status.code).toBe(3);
        const stop = await cli(stale, ["stop-daemon"]);
        expect(stop.code).toBe(0);
        expect(stop.stdout).toContain("no dispatch daemon is running");
        expect(unrelated.exitCode).toBeNull();
      });
    },
  );
});

describe("without a running daemon", () => {
  test("status says so (exit 3); a client command starts one in the background; stop-daemon stops it", async () => {
    const fresh = await tempHome();
    const status = await cli(fresh, ["status"]);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain("no dispatch daemon is running");
    try {
      const run = await cli(fresh, ["local/echo", "--text", "wake up"], 40_000);
      expect(run.stderr).toContain("starting one in the background");
      expect(run.stderr).toContain("daemon ready (pid");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("wake up");
      expect(findDaemon(fresh)).toBeDefined();
    } finally {
      const pid = findDaemon(fresh)?.pid;
      const stop = await cli(fresh, ["stop-daemon", "--json"]);
      expect(stop.code).toBe(0);
      expect(JSON.parse(stop.stdout)).toEqual({ stopped: true, pid, home: fresh });
      expect(findDaemon(fresh)).toBeUndefined();
    }
  });
});
