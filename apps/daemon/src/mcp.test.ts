/**
 * End to end: MCP servers written with the official SDK (a stdio child per server and a Streamable HTTP
 * server on a loopback port) behind the real daemon subprocess; the offline model's `/tool` directive
 * calls their tools over HTTP `/chat`, so the events are what level-1 clients see.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LEVEL1_EVENT_TYPES } from "@dispatch/protocol";
import type { AgentEvent, McpServerStatus, McpServersResponse } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit";
import { logLines, STDIO_FIXTURE, startHttpFixture } from "@dispatch/tools-mcp/test-support";
import {
  ndjson,
  type RunningTestDaemon,
  readUntil,
  reap,
  startDaemon,
  tempHome,
  WsClient,
  writeConfig,
} from "./test-support";

setDefaultTimeout(30_000);

let d: RunningTestDaemon;
let http: ReturnType<typeof startHttpFixture>;
let log: string;
const WEB_TOKEN = "tok-e2e-8c1f0a9b7d";

const server = (extra: string) => `command = "bun"\nargs = [${JSON.stringify(STDIO_FIXTURE)}]\n${extra}\n`;

beforeAll(async () => {
  http = startHttpFixture();
  const home = await tempHome();
  log = join(home, "fixture.log");
  const env = `env = { MCP_FIXTURE_LOG = ${JSON.stringify(log)} }`;
  await writeConfig(
    home,
    [
      `[mcp.servers.demo]\n${server(`${env}\npermission = "allow"`)}`,
      `[mcp.servers.asky]\n${server(env)}`,
      `[mcp.servers.lazy]\n${server(`${env}\nstartup = "lazy"\npermission = "allow"`)}`,
      `[mcp.servers.slow]\n${server(`env = { MCP_FIXTURE_LOG = ${JSON.stringify(log)}, MCP_FIXTURE_START_DELAY_MS = "4000" }`)}`,
      `[mcp.servers.web]\nurl = "${http.url}"\nheaders = { Authorization = "Bearer \${WEB_TOKEN}" }\npermission = "allow"\n`,
      `[mcp.servers.off]\n${server("enabled = false")}`,
      `[permission-gate]\nrules = [{ tools = ["mcp__asky__fa*"], action = "deny" }]\n`,
    ].join("\n"),
  );
  d = await startDaemon(home, { WEB_TOKEN });
});
afterAll(() => {
  reap(d);
  http.stop();
});

const servers = async (): Promise<McpServerStatus[]> =>
  ((await (await d.api("/mcp/servers")).json()) as McpServersResponse).servers;

async function waitState(name: string, state: string): Promise<McpServerStatus> {
  return withTimeout(
    (async () => {
      for (;;) {
        const s = (await servers()).find((x) => x.name === name);
        if (s?.state === state) return s;
        await Bun.sleep(50);
      }
    })(),
    15_000,
    `MCP server ${name} to be ${state}`,
  );
}

const post = (path: string, body: unknown) =>
  d.api(path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

/** `/chat` at protocol level 1 (what the existing frontend speaks), or 2 to read ext events too. */
async function chat(body: Record<string, unknown>, level: 1 | 2 = 1) {
  const res = await d.api("/chat", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...(level === 2 ? { "dispatch-protocol": "2" } : {}) },
  });
  expect(res.status).toBe(200);
  return { conversationId: res.headers.get("x-conversation-id") as string, events: ndjson(res) };
}

const sealed = (events: AsyncGenerator<AgentEvent>) =>
  readUntil(events, (e) => e.type === "turn-sealed", "turn-sealed");
const resultOf = (seen: AgentEvent[]) =>
  seen.find((e) => e.type === "tool-result") as Extract<AgentEvent, { type: "tool-result" }> | undefined;

describe("MCP servers behind the daemon", () => {
  test("GET /mcp/servers shows every server; slow and lazy ones do not hold up the boot", async () => {
    const list = await servers();
    expect(list.map((s) => s.name)).toEqual(["demo", "asky", "lazy", "slow", "web", "off"]);
    const by = Object.fromEntries(list.map((s) => [s.name, s]));
    expect(by.slow?.state).toBe("starting");
    expect(by.lazy?.state).toBe("stopped");
    expect(by.off?.state).toBe("disabled");
    expect(by.web?.transport).toBe("http");
    const demo = await waitState("demo", "ready");
    expect(demo.tools).toContain("mcp__demo__echo");
  });

  test("the model calls a stdio tool; level-1 clients see tool-call and tool-result", async () => {
    await waitState("demo", "ready");
    const { events } = await chat({ message: `/tool mcp__demo__echo {"text":"hi"}` });
    const seen = await sealed(events);
    expect(seen.find((e) => e.type === "tool-call")).toMatchObject({
      toolName: "mcp__demo__echo",
      input: { text: "hi" },
    });
    expect(resultOf(seen)).toMatchObject({
      toolName: "mcp__demo__echo",
      content: "echo: hi",
      isError: false,
    });
    // A level-1 stream (no protocol header) holds only level-1 event types.
    expect(seen.filter((e) => !LEVEL1_EVENT_TYPES.has(e.type))).toEqual([]);
    const invalid = resultOf(
      await sealed((await chat({ message: `/tool mcp__demo__echo {"text":5}` })).events),
    );
    expect(invalid).toMatchObject({ isError: true });
    expect(invalid?.content).toContain("mcp__demo__echo");
  });

  test("the Streamable HTTP server gets the header from the environment; the token is never logged", async () => {
    await waitState("web", "ready");
    const seen = await sealed((await chat({ message: "/tool mcp__web__header {}" })).events);
    expect(resultOf(seen)).toMatchObject({ content: `Bearer ${WEB_TOKEN}`, isError: false });
    const daemonLog = await readFile(join(d.home, "daemon.log"), "utf8").catch(() => "");
    expect(d.stderr.text + d.stdout.text + daemonLog).not.toContain(WEB_TOKEN);
  });

  test("isError results, malformed results and output over the cap are tool results, never a failed turn", async () => {
    await waitState("demo", "ready");
    const failed = await sealed((await chat({ message: "/tool mcp__demo__fail {}" })).events);
    expect(resultOf(failed)).toMatchObject({ isError: true });
    expect(resultOf(failed)?.content).toContain("the thing broke");
    expect(failed.find((e) => e.type === "done")).toMatchObject({ reason: "stop" });
    const malformed = await sealed((await chat({ message: "/tool mcp__demo__malformed {}" })).events);
    expect(resultOf(malformed)).toMatchObject({ isError: true });
    const big = await sealed((await chat({ message: `/tool mcp__demo__big {"n":200000}` })).events);
    const content = resultOf(big)?.content ?? "";
    expect(content.length).toBeLessThanOrEqual(50_000);
    expect(content).toContain("characters omitted");
  });

  test("an image result: described in the tool-result, stored as an image chunk after it", async () => {
    await waitState("demo", "ready");
    const { conversationId, events } = await chat({ message: "/tool mcp__demo__picture {}" });
    const seen = await sealed(events);
    expect(resultOf(seen)?.content).toContain("[image: image/png");
    const window = (await (await d.api(`/conversations/${conversationId}`)).json()) as {
      chunks: { chunk: { type: string; url?: string } }[];
    };
    const types = window.chunks.map((c) => c.chunk.type);
    const at = types.indexOf("tool-result");
    expect(types[at + 1]).toBe("image");
    expect(window.chunks[at + 1]?.chunk.url).toBe("data:image/png;base64,iVBORw0KGgo=");
  });

  test("ask by default, 'always' remembered per conversation, rules by tool-name pattern", async () => {
    await waitState("asky", "ready");
    // Level 2: permission-request is an ext event.
    const first = await chat({ message: `/tool mcp__asky__echo {"text":"a"}` }, 2);
    const seen = await readUntil(
      first.events,
      (e) => e.type === "permission-request",
      "a permission-request",
    );
    const req = seen.at(-1) as Extract<AgentEvent, { type: "permission-request" }>;
    expect(req.toolName).toBe("mcp__asky__echo");
    await post(`/conversations/${first.conversationId}/permissions/${req.requestId}`, { decision: "always" });
    expect(resultOf(await sealed(first.events))).toMatchObject({ content: "echo: a" });
    const again = await chat(
      { conversationId: first.conversationId, message: `/tool mcp__asky__echo {"text":"b"}` },
      2,
    );
    const second = await sealed(again.events);
    expect(second.some((e) => e.type === "permission-request")).toBe(false);
    expect(resultOf(second)).toMatchObject({ content: "echo: b" });
    const denied = resultOf(await sealed((await chat({ message: "/tool mcp__asky__fail {}" })).events));
    expect(denied).toMatchObject({ isError: true });
    expect(denied?.content).toContain("permission denied");
  });

  test("a server that crashes mid-call: an error result, then it is restarted and works again", async () => {
    await waitState("demo", "ready");
    const crashed = await sealed((await chat({ message: "/tool mcp__demo__crash {}" })).events);
    expect(resultOf(crashed)).toMatchObject({ isError: true });
    expect(resultOf(crashed)?.content).toContain('MCP server "demo" exited during the call');
    const back = await waitState("demo", "ready");
    expect(back.restarts).toBe(1);
    expect(back.lastError).toBeDefined();
    const ok = await sealed((await chat({ message: `/tool mcp__demo__echo {"text":"back"}` })).events);
    expect(resultOf(ok)).toMatchObject({ content: "echo: back" });
  });

  test("stop during a call cancels it: the server receives notifications/cancelled", async () => {
    await waitState("demo", "ready");
    const before = (await logLines(log)).filter((l) => l === "cancelled").length;
    const { conversationId, events } = await chat({ message: "/tool mcp__demo__hang {}" });
    await readUntil(events, (e) => e.type === "tool-call", "the tool-call");
    await withTimeout(
      (async () => {
        while (!(await logLines(log)).includes("call hang")) await Bun.sleep(20);
      })(),
      10_000,
      "the server to receive the call",
    );
    await post(`/conversations/${conversationId}/stop`, {});
    const rest = await sealed(events);
    expect(resultOf(rest)).toMatchObject({ isError: true });
    await withTimeout(
      (async () => {
        while ((await logLines(log)).filter((l) => l === "cancelled").length <= before) await Bun.sleep(20);
      })(),
      10_000,
      "the server to log notifications/cancelled",
    );
  });

  test("a lazy server starts with the first turn; the slow one becomes ready", async () => {
    await sealed((await chat({ message: "hello" })).events);
    expect((await waitState("lazy", "ready")).tools).toContain("mcp__lazy__pid");
    await waitState("slow", "ready");
  });

  test("the global mcp surface over WebSocket: state per server, and its restart button works", async () => {
    await waitState("lazy", "ready");
    const ws = new WsClient(`ws://127.0.0.1:${d.info.wsPort}`, [`dispatch.token.${d.token}`]);
    try {
      const catalog = await ws.next((f) => f.type === "catalog", "the catalog frame");
      expect(JSON.stringify(catalog)).toContain('"id":"mcp"');
      ws.ws.send(JSON.stringify({ type: "subscribe", surfaceId: "mcp" }));
      const surface = (await ws.next((f) => f.type === "surface", "the mcp surface")) as {
        spec: { fields: { kind: string; label: string; value?: string; action?: { actionId: string } }[] };
      };
      expect(surface.spec.fields).toContainEqual({
        kind: "stat",
        label: "off (stdio)",
        value: "disabled · 0 tools",
      });
      expect(surface.spec.fields.some((f) => f.action?.actionId === "restart:lazy")).toBe(true);
      const before = (await servers()).find((x) => x.name === "lazy")?.restarts ?? 0;
      ws.ws.send(JSON.stringify({ type: "invoke", surfaceId: "mcp", actionId: "restart:lazy" }));
      // The restart changes the server's state, so the subscribed surface is updated.
      await ws.next((f) => f.type === "update", "an update of the mcp surface");
      await withTimeout(
        (async () => {
          for (;;) {
            const s = (await servers()).find((x) => x.name === "lazy");
            if (s?.state === "ready" && s.restarts === before + 1) return;
            await Bun.sleep(50);
          }
        })(),
        15_000,
        "the lazy server to be restarted",
      );
    } finally {
      ws.ws.close();
    }
  });

  test("shutting the daemon down leaves no MCP child process", async () => {
    await waitState("lazy", "ready");
    await waitState("slow", "ready");
    const pids = (await logLines(log)).filter((l) => l.startsWith("started ")).map((l) => Number(l.slice(8)));
    expect(pids.length).toBeGreaterThanOrEqual(4);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(await d.stop()).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe("a daemon killed with SIGKILL", () => {
  test("its stdio MCP children see stdin EOF and exit (they never outlive it)", async () => {
    const home = await tempHome();
    const killedLog = join(home, "fixture.log");
    await writeConfig(
      home,
      `[mcp.servers.demo]\n${server(`env = { MCP_FIXTURE_LOG = ${JSON.stringify(killedLog)} }`)}`,
    );
    const k = await startDaemon(home);
    try {
      const started = await withTimeout(
        (async () => {
          for (;;) {
            const line = (await logLines(killedLog)).find((l) => l.startsWith("started "));
            if (line) return Number(line.slice(8));
            await Bun.sleep(50);
          }
        })(),
        15_000,
        "the MCP child to start",
      );
      process.kill(started, 0);
      k.proc.kill("SIGKILL");
      await k.exited;
      await withTimeout(
        (async () => {
          for (;;) {
            try {
              process.kill(started, 0);
            } catch {
              return;
            }
            await Bun.sleep(50);
          }
        })(),
        10_000,
        `MCP child ${started} to exit after the daemon was killed`,
      );
    } finally {
      reap(k);
    }
  });
});
