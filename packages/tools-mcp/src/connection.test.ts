import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { withTimeout } from "@dispatch/testkit";
import { startHttpFixture } from "./fixtures/http-server";
import { logLines, stdioServer, type TestManager, tempDir, testManager } from "./test-support";

/** `${NAME}` as written in a config file. */
const ref = (name: string) => ["$", "{", name, "}"].join("");

let current: TestManager | undefined;
afterEach(async () => {
  await current?.manager.stopAll();
  current = undefined;
});
const managed = (...args: Parameters<typeof testManager>) => {
  current = testManager(...args);
  return current;
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("stdio MCP server", () => {
  test("tools are offered as mcp__<server>__<tool>, validated, called and converted", async () => {
    const t = managed({ servers: { demo: stdioServer() } });
    t.manager.startEager();
    const s = await t.waitFor("demo", "ready");
    expect(s.tools).toContain("mcp__demo__echo");
    const echo = t.registry.get("mcp__demo__echo");
    expect(echo?.parameters).toMatchObject({ type: "object", required: ["text"] });
    expect(await t.run("mcp__demo__echo", { text: "hi" })).toEqual({ content: "echo: hi", isError: false });
    const bad = await t.run("mcp__demo__echo", { text: 3 });
    expect(bad).toMatchObject({ isError: true, code: "TOOL_INVALID_ARGS" });
    expect(bad.content).toContain("mcp__demo__echo");
    expect(await t.run("mcp__demo__echo", {})).toMatchObject({ code: "TOOL_INVALID_ARGS" });
    expect(await t.run("mcp__demo__fail", {})).toMatchObject({ isError: true, code: "TOOL_REMOTE_ERROR" });
    const pic = await t.run("mcp__demo__picture", {});
    expect(pic.content).toContain("[image: image/png");
    expect(pic.content).toContain("a dot");
  });

  test("a malformed result is an error result, and the server keeps working", async () => {
    const t = managed({ servers: { demo: stdioServer() } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    expect(await t.run("mcp__demo__malformed", {})).toMatchObject({
      isError: true,
      code: "TOOL_REMOTE_ERROR",
    });
    expect(await t.run("mcp__demo__echo", { text: "still" })).toMatchObject({ content: "echo: still" });
  });

  test("tools/list_changed updates the registered tools", async () => {
    const t = managed({ servers: { demo: stdioServer() } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    expect(t.registry.get("mcp__demo__extra")).toBeUndefined();
    await t.run("mcp__demo__grow", {});
    await t.waitFor("demo", "ready", (s) => s.tools.includes("mcp__demo__extra"));
    expect(await t.run("mcp__demo__extra", {})).toMatchObject({ content: "extra works" });
  });

  test("a hanging call times out after timeoutMs and the server sees notifications/cancelled", async () => {
    const log = join(await tempDir(), "log");
    const t = managed({ servers: { demo: stdioServer({ timeoutMs: 300 }, { MCP_FIXTURE_LOG: log }) } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    expect(await t.run("mcp__demo__hang", {})).toMatchObject({ isError: true, code: "TOOL_TIMEOUT" });
    await withTimeout(
      (async () => {
        while (!(await logLines(log)).includes("cancelled")) await Bun.sleep(20);
      })(),
      5000,
      "the server to log the cancellation",
    );
  });

  test("aborting the call's signal cancels it (notifications/cancelled)", async () => {
    const log = join(await tempDir(), "log");
    const t = managed({ servers: { demo: stdioServer({}, { MCP_FIXTURE_LOG: log }) } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    const ac = new AbortController();
    const call = t.run("mcp__demo__hang", {}, ac.signal);
    while (!(await logLines(log)).includes("call hang")) await Bun.sleep(20);
    ac.abort();
    expect(await call).toMatchObject({ code: "TOOL_ABORTED" });
    while (!(await logLines(log)).includes("cancelled")) await Bun.sleep(20);
  });

  test("a crash mid-call fails the call, calls during the outage fail fast, and it is restarted", async () => {
    const t = managed({ servers: { demo: stdioServer() } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    const first = Number((await t.run("mcp__demo__pid", {})).content);
    const tool = t.registry.get("mcp__demo__echo");
    const crashed = await t.run("mcp__demo__crash", {});
    expect(crashed).toMatchObject({ isError: true, code: "TOOL_UNAVAILABLE" });
    // The old Tool object (a step that listed it before the crash) fails fast with a clear error.
    const during = await tool?.execute(
      { text: "x" },
      {
        conversationId: "c",
        turnId: "t",
        toolCallId: "y",
        cwd: "/",
        signal: new AbortController().signal,
        onOutput: () => {},
      },
    );
    expect(during).toMatchObject({ isError: true, code: "TOOL_UNAVAILABLE" });
    expect(during?.content).toContain('MCP server "demo"');
    const back = await t.waitFor("demo", "ready");
    expect(back.restarts).toBe(1);
    expect(back.lastError).toContain("closed");
    const second = await t.run("mcp__demo__pid", {});
    expect(second.isError).toBe(false);
    expect(Number(second.content)).not.toBe(first);
    expect(alive(first)).toBe(false);
  });

  test("a slow server is starting until it answers; a server that cannot start fails after retries", async () => {
    const t = managed({
      servers: {
        slow: stdioServer({}, { MCP_FIXTURE_START_DELAY_MS: "700" }),
        broken: { command: "bun", args: ["-e", "process.exit(1)"], startupTimeoutMs: 2000 },
      },
    });
    t.manager.startEager();
    expect(t.manager.list().find((s) => s.name === "slow")?.state).toBe("starting");
    await t.waitFor("slow", "ready");
    const broken = await t.waitFor("broken", "restarting");
    expect(broken.lastError).toBeDefined();
  });

  test("restart (the surface's button) replaces the child and counts the restart", async () => {
    const t = managed({ servers: { demo: stdioServer() } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    const first = Number((await t.run("mcp__demo__pid", {})).content);
    expect(t.manager.restart("demo")).toEqual({ ok: true, value: undefined });
    expect(t.manager.list()[0]).toMatchObject({ state: "starting", restarts: 1 });
    await t.waitFor("demo", "ready", (s) => s.restarts === 1);
    const second = await t.run("mcp__demo__pid", {});
    expect(second.isError).toBe(false);
    expect(Number(second.content)).not.toBe(first);
    await withTimeout(
      (async () => {
        while (alive(first)) await Bun.sleep(20);
      })(),
      5000,
      "the old child to exit",
    );
    expect(t.manager.restart("nope")).toMatchObject({ ok: false, error: { code: "MCP_UNKNOWN_SERVER" } });
  });

  test("stopAll ends the stdio child", async () => {
    const t = managed({ servers: { demo: stdioServer() } });
    t.manager.startEager();
    await t.waitFor("demo", "ready");
    const pid = Number((await t.run("mcp__demo__pid", {})).content);
    expect(alive(pid)).toBe(true);
    await t.manager.stopAll();
    expect(t.registry.list()).toEqual([]);
    await withTimeout(
      (async () => {
        while (alive(pid)) await Bun.sleep(20);
      })(),
      5000,
      "the child to exit",
    );
  });

  test("a missing variable reference names the variable, and a set one reaches the server", async () => {
    const t = managed(
      {
        servers: {
          ok: stdioServer({}, { MCP_FIXTURE_SECRET: `Bearer ${ref("MY_SECRET")}` }),
          missing: stdioServer({}, { MCP_FIXTURE_SECRET: ref("NOT_SET_ANYWHERE") }),
        },
      },
      { MY_SECRET: "s3cret-value" },
    );
    t.manager.startEager();
    await t.waitFor("ok", "ready");
    expect((await t.run("mcp__ok__header", {})).content).toBe("Bearer s3cret-value");
    const missing = await t.waitFor("missing", "restarting");
    expect(missing.lastError).toContain("env.MCP_FIXTURE_SECRET names NOT_SET_ANYWHERE");
  });
});

describe("Streamable HTTP MCP server", () => {
  test("tools are called over HTTP with the configured headers", async () => {
    const http = startHttpFixture();
    try {
      const t = managed(
        { servers: { web: { url: http.url, headers: { Authorization: `Bearer ${ref("WEB_TOKEN")}` } } } },
        { WEB_TOKEN: "tok-123" },
      );
      t.manager.startEager();
      const s = await t.waitFor("web", "ready");
      expect(s.transport).toBe("http");
      expect(await t.run("mcp__web__echo", { text: "over http" })).toMatchObject({
        content: "echo: over http",
      });
      expect((await t.run("mcp__web__header", {})).content).toBe("Bearer tok-123");
    } finally {
      http.stop();
    }
  });

  test("a server that goes away: the call fails as unavailable and the server is restarting", async () => {
    const http = startHttpFixture();
    const t = managed({ servers: { web: { url: http.url, permission: "allow" } } });
    t.manager.startEager();
    await t.waitFor("web", "ready");
    const echo = t.registry.get("mcp__web__echo");
    http.stop();
    const signal = new AbortController().signal;
    const ctx = { conversationId: "c", turnId: "t", toolCallId: "x", cwd: "/", signal, onOutput: () => {} };
    const r = await echo?.execute({ text: "x" }, ctx);
    expect(r).toMatchObject({ isError: true, code: "TOOL_UNAVAILABLE" });
    const s = await t.waitFor("web", "restarting");
    expect(s.tools).toEqual([]);
    expect(t.registry.get("mcp__web__echo")).toBeUndefined();
  });

  test("an unreachable server is restarting, with the failure as its last error", async () => {
    const http = startHttpFixture();
    http.stop();
    const t = managed({ servers: { web: { url: http.url } } });
    t.manager.startEager();
    const s = await t.waitFor("web", "restarting");
    expect(s.lastError).toContain("could not start");
  });
});
