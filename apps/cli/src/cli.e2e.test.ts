/**
 * The real `dispatch` binary against a real daemon subprocess (free ports, temp data folder).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import {
  reap,
  startDaemon,
  tempHome,
  WsClient,
  withUnrelatedProcess,
  writeStaleDaemonFiles,
} from "@dispatch/daemon/test-support";
import { findDaemon } from "@dispatch/discovery";
import { startOpenAIServer, withTimeout } from "@dispatch/testkit";
import { cliEnv, daemonForFile, MAIN, resultOf, cli as runCli } from "./cli.test-support";

/** Pipes, and NO_COLOR as a user might set it (colours on a non-terminal are tested without it). */
const cli = (home: string, args: string[], timeoutMs = 20_000) =>
  runCli(home, args, { timeoutMs, env: { NO_COLOR: "1" } });
/** The same, from a folder and/or with stdin piped. */
const cliIn = (home: string, args: string[], opts: { cwd?: string; stdin?: string }) =>
  runCli(home, args, { ...opts, env: { NO_COLOR: "1" } });

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

  test("--json chat prints every event as NDJSON, then turn-sealed and one result line", async () => {
    const run = await cli(file.home, ["local/echo", "--text", "json please", "--json"]);
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe("user-message");
    expect(events.at(-2)?.type).toBe("turn-sealed");
    const result = events.at(-1) as { type: string; conversationId: string; text: string; reason: string };
    expect(result).toMatchObject({ type: "result", reason: "stop" });
    expect(result.conversationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.text).toContain("json please");
    expect(run.stderr).toBe("");
  });

  test("read, list and a short id prefix", async () => {
    const prefix = conversationId.slice(0, 8);
    const read = await cli(file.home, ["read", prefix]);
    expect(read.code).toBe(0);
    expect(read.stdout).toContain("you: hello from the cli");
    expect(read.stdout).toContain("assistant: Echo from local/echo");
    const list = await cli(file.home, ["list"]);
    expect(list.stdout).toContain(prefix);
    // A header row, and local times that say their zone.
    expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS\s+LAST ACTIVITY\s+WORKSPACE\s+TITLE$/);
    expect(list.stdout).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d/);
    const unknown = await cli(file.home, ["read", "zzzz-not-an-id"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('dispatch: no conversation matches "zzzz-not-an-id"\n');
    const json = await cli(file.home, ["read", "zzzz-not-an-id", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({
      type: "error",
      code: "CLI_UNKNOWN_ID",
      message: 'no conversation matches "zzzz-not-an-id"',
      exitCode: 1,
    });
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

  test("without a terminal a request is denied naming --allow; the model is told the same", async () => {
    const run = await cli(file.home, [
      "local/echo",
      "--json",
      "--text",
      '/tool run_shell {"command":"echo hi"}',
    ]);
    expect(run.stderr).toContain(
      "dispatch: run_shell was not run: it needs permission and nobody can answer (stdin is not a terminal). Allow it for this run with --allow run_shell (or --yes for every tool)",
    );
    expect(run.stderr).toContain('[permission-gate] tools = { run_shell = "allow" }');
    const result = run.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; content?: string })
      .find((e) => e.type === "tool-result");
    expect(result?.content).toContain("rerun with --allow run_shell or --yes");
    expect(result?.content).not.toContain("denied by the user");
  });

  test("--allow and --yes allow a tool for that turn only", async () => {
    const allowed = await cli(file.home, [
      "local/echo",
      "--allow",
      "run_shell",
      "-t",
      '/tool run_shell {"command":"echo granted-1"}',
    ]);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain("✓ run_shell");
    expect(allowed.stdout).toContain("granted-1");
    const yes = await cli(file.home, [
      "local/echo",
      "--yes",
      "-t",
      '/tool run_shell {"command":"echo granted-2"}',
    ]);
    expect(yes.stdout).toContain("granted-2");
    // The next turn of the same conversation has no grant: asked again (and denied without a terminal).
    const id = resultOf(
      (await cli(file.home, ["local/echo", "--yes", "--json", "-t", "first"])).stdout,
    ).conversationId;
    const again = await cli(file.home, [
      "-r",
      id.slice(0, 8),
      "-t",
      '/tool run_shell {"command":"echo nope"}',
    ]);
    expect(again.stderr).toContain("run_shell was not run");
    // Another tool than the one named still asks.
    const other = await cli(file.home, [
      "local/echo",
      "--allow",
      "read_file",
      "-t",
      '/tool run_shell {"command":"echo other"}',
    ]);
    expect(other.stderr).toContain("run_shell was not run");
  });

  test("a grant needs the token: a tokenless browser request is refused", async () => {
    const origin = `http://127.0.0.1:${file.daemon.info.httpPort}`;
    const res = await file.daemon.api("/chat", {
      method: "POST",
      auth: false,
      headers: { Origin: origin, "Content-Type": "application/json" },
      body: JSON.stringify({ message: '/tool run_shell {"command":"echo x"}', grant: { all: true } }),
    });
    // Refused either way: 403 when the Origin alone admits the request, 401 when the token is required.
    expect([401, 403]).toContain(res.status);
    const body = (await res.json()) as { code: string };
    if (res.status === 403) expect(body.code).toBe("FORBIDDEN");
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
    expect(run.code).toBe(2); // ambiguous: a usage problem (a longer prefix is needed)
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

  test("models marks the default; status shows it, active turns and the paths", async () => {
    const models = await cli(file.home, ["models", "--json"]);
    const m = JSON.parse(models.stdout);
    expect(m.models).toContain("local/echo");
    expect(m.defaultModel).toBe("local/echo");
    const text = await cli(file.home, ["models"]);
    expect(text.stdout).toContain("* local/echo  (default");
    const status = await cli(file.home, ["status", "--json"]);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s).toMatchObject({
      running: true,
      healthy: true,
      pid: file.daemon.info.pid,
      httpPort: file.daemon.info.httpPort,
      defaultModel: "local/echo",
      activeTurns: 0,
      home: file.home,
      config: join(file.home, "dispatch.toml"),
    });
    expect(s.token).toBeUndefined();
    const human = await cli(file.home, ["status"]);
    expect(human.stdout).toContain("default model  local/echo");
    expect(human.stdout).toContain("active turns   0");
    expect(human.stdout).toContain(`config         ${join(file.home, "dispatch.toml")}`);
  });

  test("doctor checks everything and exits 0 on a healthy setup", async () => {
    const run = await cli(file.home, ["doctor", "--json"]);
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.checks.map((c) => c.name)).toEqual([
      "bun",
      "data folder",
      "config",
      "providers",
      "http port",
      "ws port",
    ]);
    expect(report.ok).toBe(true);
    expect(run.code).toBe(0);
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

describe("your folder, prompts from anywhere", () => {
  test("the tools work in the caller's folder by default; --cwd is resolved against it", async () => {
    const here = await tempHome();
    await Bun.write(join(here, "only-here.txt"), "x");
    await Bun.write(join(here, "sub", "in-sub.txt"), "y");
    const run = await cliIn(file.home, ["local/echo", "-t", '/tool list_dir {"path":"."}'], { cwd: here });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("only-here.txt");
    const sub = await cliIn(file.home, ["local/echo", "--cwd", "sub", "-t", '/tool list_dir {"path":"."}'], {
      cwd: here,
    });
    expect(sub.stdout).toContain("in-sub.txt");
    const missing = await cliIn(file.home, ["hi", "--cwd", "nope"], { cwd: here });
    expect(missing.stderr).toBe(`dispatch: --cwd nope: no such folder (${join(here, "nope")})\n`);
    expect(missing.code).toBe(2);
  });

  test('dispatch "prompt" uses the default model; -m names one; the model may come first', async () => {
    const plain = await cli(file.home, ["just a prompt", "--json"]);
    expect(plain.code).toBe(0);
    expect(resultOf(plain.stdout).text).toContain("Echo from local/echo");
    expect(resultOf(plain.stdout).text).toContain("just a prompt");
    const named = await cli(file.home, ["-m", "local/echo", "named", "model", "--json"]);
    expect(resultOf(named.stdout).text).toContain("named model");
    const first = await cli(file.home, ["local/echo", "model first", "--json"]);
    expect(resultOf(first.stdout).text).toContain("model first");
    const unknown = await cli(file.home, ["-m", "nope/none", "hi"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("(ORCH_UNKNOWN_MODEL)");
  });

  test("piped stdin is the prompt, or is appended to the argument as context; --file - reads it", async () => {
    const only = await cliIn(file.home, ["--json"], { stdin: "from the pipe" });
    expect(only.code).toBe(0);
    expect(resultOf(only.stdout).text).toContain("from the pipe");
    const both = await cliIn(file.home, ["summarize", "--json"], { stdin: "piped context" });
    const id = resultOf(both.stdout).conversationId;
    const history = await cli(file.home, ["read", id, "--json"]);
    const user = (JSON.parse(history.stdout).chunks as { role: string; chunk: { text?: string } }[]).find(
      (c) => c.role === "user",
    );
    expect(user?.chunk.text).toBe("summarize\n\npiped context");
    const dash = await cliIn(file.home, ["local/echo", "--file", "-", "--json"], { stdin: "dash file" });
    expect(resultOf(dash.stdout).text).toContain("dash file");
    const empty = await cliIn(file.home, ["local/echo"], { stdin: "  \n" });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("the message is empty");
  });

  test("-c continues the most recent conversation of this folder; -r a given one", async () => {
    const a = await tempHome();
    const b = await tempHome();
    const inA = resultOf(
      (await cliIn(file.home, ["first in a", "--json"], { cwd: a })).stdout,
    ).conversationId;
    const inB = resultOf(
      (await cliIn(file.home, ["first in b", "--json"], { cwd: b })).stdout,
    ).conversationId;
    const contA = await cliIn(file.home, ["-c", "more in a", "--json"], { cwd: a });
    expect(resultOf(contA.stdout).conversationId).toBe(inA);
    const resumed = await cliIn(file.home, ["-r", inB.slice(0, 8), "more in b", "--json"], { cwd: a });
    expect(resultOf(resumed.stdout).conversationId).toBe(inB);
    // Resuming from another folder keeps the conversation's own folder.
    const cwd = (await (await file.daemon.api(`/conversations/${inB}/cwd`)).json()) as { cwd: string };
    expect(cwd.cwd).toBe(b);
  });

  test("--detach prints the id and returns; attach replays the running turn and follows it to the end", async () => {
    const detached = await cli(file.home, [
      "local/echo",
      "--detach",
      "-t",
      "/slow 30\n/long 40\ndetached words",
    ]);
    expect(detached.code).toBe(0);
    const id = detached.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(detached.stderr).toContain(`follow it with: dispatch attach ${id.slice(0, 8)}`);
    const attached = await cli(file.home, ["attach", id.slice(0, 8)]);
    expect(attached.code).toBe(0);
    expect(attached.stdout).toContain("Echo from local/echo"); // replayed from the turn's start
    expect(attached.stdout).toContain("word39");
    const status = (await (await file.daemon.api(`/conversations/${id}/status`)).json()) as {
      isActive: boolean;
    };
    expect(status.isActive).toBe(false);
    const idle = await cli(file.home, ["attach", id]);
    expect(idle.code).toBe(0);
    expect(idle.stderr).toContain(`no turn is running in ${id}`);
    const follow = await cli(file.home, ["read", "-f", id.slice(0, 8)]);
    expect(follow.stdout).toContain("you: /slow 30");
  });
});

describe("pipes", () => {
  test("| head -1 ends quietly with 0: no EPIPE trace", async () => {
    const proc = Bun.spawn(
      [
        "bash",
        "-o",
        "pipefail",
        "-c",
        `bun ${MAIN} local/echo -t "$(printf '/slow 5\\n/long 3000\\nmany')" | head -c 20`,
      ],
      {
        env: cliEnv(file.home, { NO_COLOR: "1" }),
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [stdout, stderr, code] = await withTimeout(
      Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
      30_000,
      "the pipeline to end",
    );
    expect(stdout.length).toBe(20);
    expect(stderr).not.toContain("EPIPE");
    expect(stderr).not.toContain("unexpected error");
    expect(code).toBe(0); // pipefail: the CLI's own exit code
  });
});

describe("a daemon that misbehaves", () => {
  test("a hung daemon: 'daemon not responding (pid N)', exit 3; status exits 1", async () => {
    const hung = await startDaemon(await tempHome());
    try {
      hung.proc.kill("SIGSTOP");
      const env = { NO_COLOR: "1", DISPATCH_CLI_TIMEOUT_MS: "400" };
      const list = await runCli(hung.home, ["list"], { env });
      expect(list.stderr).toBe(
        `dispatch: daemon not responding (pid ${hung.info.pid}); is it stopped or overloaded? try: dispatch status, or restart it (dispatch stop-daemon)\n`,
      );
      expect(list.code).toBe(3);
      const chat = await runCli(hung.home, ["hello?"], { env });
      expect(chat.stderr).toContain(`dispatch: daemon not responding (pid ${hung.info.pid})`);
      expect(chat.code).toBe(3);
      const status = await runCli(hung.home, ["status"], { env });
      expect(status.stdout).toContain("running but UNHEALTHY");
      expect(status.stdout).toContain(`not responding (pid ${hung.info.pid})`);
      expect(status.code).toBe(1);
    } finally {
      hung.proc.kill("SIGCONT");
      await hung.stop().catch(() => reap(hung));
    }
  });

  test("an auto-started daemon with a bad config shows the config error and its exit code", async () => {
    const home = await tempHome();
    await Bun.write(join(home, "dispatch.toml"), "[ws]\nport = 99999999\n");
    const run = await cli(home, ["list"], 30_000);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("dispatch: the daemon exited with code 2 while starting:");
    expect(run.stderr).toContain("ws.port");
    expect(run.stderr).toContain(`(full output: ${join(home, "logs", "serve.out")})`);
    const doctor = await cli(home, ["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("FAIL config:");
    expect(doctor.stdout).toContain("ws.port");
    expect(doctor.stdout).toContain("fix: fix ");
  });

  test("serve --json prints one ready object; global flags may precede serve", async () => {
    const home = await tempHome();
    const proc = Bun.spawn(
      ["bun", MAIN, "--home", home, "--json", "serve", "--http-port", "0", "--ws-port", "0"],
      {
        env: cliEnv(await tempHome()),
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      await withTimeout(
        (async () => {
          while (!out.includes("\n")) {
            const { done, value } = await reader.read();
            if (done) break;
            out += new TextDecoder().decode(value);
          }
        })(),
        20_000,
        "the ready line",
      );
      const ready = JSON.parse(out.split("\n")[0] as string);
      expect(ready).toMatchObject({ type: "ready", home, pid: proc.pid });
      expect(ready.token).toBeUndefined();
      expect(findDaemon(home)?.httpPort).toBe(ready.httpPort);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  });

  test("serve --home after the command is the daemon's own flag, and is honoured", async () => {
    const home = await tempHome();
    const proc = Bun.spawn(["bun", MAIN, "serve", "--home", home, "--http-port", "0", "--ws-port", "0"], {
      env: cliEnv(await tempHome()),
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      await withTimeout(
        (async () => {
          while (!findDaemon(home)) await Bun.sleep(50);
        })(),
        20_000,
        `a daemon in ${home}`,
      );
      expect(findDaemon(home)?.pid).toBe(proc.pid);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  });
});

describe("doctor", () => {
  test("a reachable provider lists its models; an unreachable one is a FAIL with the fix (exit 1)", async () => {
    const provider = startOpenAIServer({ models: ["m-one", "m-two"] });
    const closed = Bun.serve({ port: 0, fetch: () => new Response("") });
    const deadUrl = `http://127.0.0.1:${closed.port}/v1`;
    await closed.stop(true);
    try {
      const home = await tempHome();
      await Bun.write(
        join(home, "dispatch.toml"),
        `[providers.credentials.good]\nkind = "openai-compatible"\nbaseUrl = "${provider.url}"\napiKey = "k"\n\n[providers.credentials.gone]\nkind = "openai-compatible"\nbaseUrl = "${deadUrl}"\napiKey = "k"\n`,
      );
      const run = await cli(home, ["doctor"]);
      expect(run.stdout).toContain(`ok   provider good: ${provider.url}: 2 models`);
      expect(run.stdout).toContain(`FAIL provider gone: ${deadUrl}: no models listed`);
      expect(run.stdout).toContain('fix: check the base URL and key of credential "gone"');
      expect(run.code).toBe(1);
    } finally {
      await provider[Symbol.asyncDispose]();
    }
  });
});

test("an idle stdin pipe that never closes does not hang a command that has its prompt", async () => {
  const proc = Bun.spawn(["bun", MAIN, "idle stdin", "--json"], {
    env: cliEnv(file.home, { NO_COLOR: "1" }),
    stdin: "pipe", // held open and silent, as Node's spawn leaves it
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const [stdout, code] = await withTimeout(
      Promise.all([new Response(proc.stdout).text(), proc.exited]),
      20_000,
      "the CLI to finish without stdin closing",
    );
    expect(code).toBe(0);
    expect(resultOf(stdout).text).toContain("idle stdin");
  } finally {
    proc.kill();
  }
});
