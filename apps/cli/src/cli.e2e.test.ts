/**
 * The real `dispatch` binary against a real daemon subprocess (free ports, temp data folder).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type RunningTestDaemon, reap, startDaemon, tempHome, WsClient } from "@dispatch/daemon/test-support";
import { findDaemon } from "@dispatch/discovery";
import { withTimeout } from "@dispatch/testkit/wait";

const MAIN = join(import.meta.dir, "main.ts");

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("DISPATCH_") || k.endsWith("_API_KEY") || k.endsWith("_BASE_URL"))
      continue;
    env[k] = v;
  }
  return { ...env, DISPATCH_HOME: home, DISPATCH_WS_PORT: "0", DISPATCH_HTTP_PORT: "0", NO_COLOR: "1" };
}

async function cli(home: string, args: string[], timeoutMs = 20_000): Promise<CliRun> {
  const proc = Bun.spawn(["bun", MAIN, ...args], {
    env: cleanEnv(home),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await withTimeout(
    Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
    timeoutMs,
    `dispatch ${args.join(" ")} to finish`,
  ).catch((err) => {
    proc.kill("SIGKILL");
    throw err;
  });
  return { code, stdout, stderr };
}

let daemon: RunningTestDaemon;
let home: string;

beforeAll(async () => {
  home = await tempHome();
  daemon = await startDaemon(home);
});
afterAll(async () => {
  await daemon?.stop().catch(() => reap(daemon));
});

describe("dispatch against a running daemon", () => {
  let conversationId = "";

  test("chat mode streams the offline model's answer to stdout", async () => {
    const run = await cli(home, ["local/echo", "--text", "hello from the cli"]);
    expect(run.stderr).not.toContain("starting one");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Echo from local/echo");
    expect(run.stdout).toContain("hello from the cli");
    const list = await cli(home, ["list", "--json"]);
    const conversations = JSON.parse(list.stdout).conversations as { id: string; title: string }[];
    const mine = conversations.find((c) => c.title === "hello from the cli");
    expect(mine).toBeDefined();
    conversationId = mine!.id;
  });

  test("--json chat prints every event as NDJSON, ending with turn-sealed", async () => {
    const run = await cli(home, ["local/echo", "--text", "json please", "--json"]);
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
    const read = await cli(home, ["read", prefix]);
    expect(read.code).toBe(0);
    expect(read.stdout).toContain("you: hello from the cli");
    expect(read.stdout).toContain("assistant: Echo from local/echo");
    const list = await cli(home, ["list"]);
    expect(list.stdout).toContain(prefix);
    const unknown = await cli(home, ["read", "zzzz-not-an-id"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no conversation matches "zzzz-not-an-id"');
  });

  test("--open reaches every connected frontend as conversation.open with the workspace", async () => {
    const a = new WsClient(`ws://127.0.0.1:${daemon.info.wsPort}`, [`dispatch.token.${daemon.token}`]);
    const b = new WsClient(`ws://127.0.0.1:${daemon.info.wsPort}`, [`dispatch.token.${daemon.token}`]);
    try {
      await a.next((f) => f.type === "catalog", "catalog on connect (a)");
      await b.next((f) => f.type === "catalog", "catalog on connect (b)");
      const run = await cli(home, ["open", conversationId.slice(0, 8)]);
      expect(run.code).toBe(0);
      for (const client of [a, b]) {
        const frame = await client.next((f) => f.type === "conversation.open", "conversation.open");
        expect(frame).toEqual({ type: "conversation.open", conversationId, workspaceId: "default" });
      }
      const chat = await cli(home, ["local/echo", "--text", "open me", "--workspace", "web", "--open"]);
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

  test("send --queue starts a turn when idle; stop ends a running one", async () => {
    const prefix = conversationId.slice(0, 8);
    const queued = await cli(home, ["send", prefix, "--text", "/slow 100\n/long 200\nkeep going", "--queue"]);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toContain("started a turn");
    const more = await cli(home, ["send", prefix, "--text", "after that", "--queue"]);
    expect(more.stdout).toContain("queued (1 waiting)");
    const stop = await cli(home, ["stop", prefix]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain("stopped the running turn");
  });

  test("a tool that needs permission is denied without a terminal, with a hint", async () => {
    const run = await cli(home, ["local/echo", "--text", '/tool run_shell {"command":"echo hi"}']);
    expect(run.stderr).toContain("denied run_shell (stdin is not a terminal");
    expect(run.stderr).toContain('[permission-gate] tools = { run_shell = "allow" }');
  });

  test("usage errors exit 2 and name the problem", async () => {
    const run = await cli(home, ["list", "--status", "sleepy"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--status: "sleepy" is not one of');
    const help = await cli(home, ["send", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("dispatch send <id>");
  });

  test("models and status", async () => {
    const models = await cli(home, ["models", "--json"]);
    expect(JSON.parse(models.stdout).models).toContain("local/echo");
    const status = await cli(home, ["status", "--json"]);
    const s = JSON.parse(status.stdout);
    expect(s).toMatchObject({ running: true, pid: daemon.info.pid, httpPort: daemon.info.httpPort });
    expect(s.token).toBeUndefined();
  });
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
      const stop = await cli(fresh, ["stop-daemon"]);
      expect(stop.code).toBe(0);
      expect(findDaemon(fresh)).toBeUndefined();
    }
  });
});
