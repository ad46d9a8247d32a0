/** `dispatch mcp list` against a real daemon with an SDK-written stdio MCP server. */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import {
  type RunningTestDaemon,
  reap,
  startDaemon,
  tempHome,
  writeConfig,
} from "@dispatch/daemon/test-support";
import { withTimeout } from "@dispatch/testkit";
import { STDIO_FIXTURE } from "@dispatch/tools-mcp/test-support";
import { cli } from "./cli.test-support";
import { formatMcpServers } from "./mcp";

setDefaultTimeout(30_000);

let d: RunningTestDaemon | undefined;
afterAll(() => reap(d));

test("formatMcpServers: one line per server, the last error under it", () => {
  expect(
    formatMcpServers([
      { name: "gh", transport: "http", startup: "eager", state: "ready", tools: ["a", "b"], restarts: 0 },
      {
        name: "files",
        transport: "stdio",
        startup: "lazy",
        state: "restarting",
        tools: [],
        restarts: 2,
        lastError: "boom",
      },
    ]),
  ).toEqual([
    "gh     ready       http   2 tools",
    "files  restarting  stdio  0 tools, 2 restarts",
    "       last error: boom",
  ]);
  expect(formatMcpServers([])).toEqual(["no MCP servers configured"]);
});

test("dispatch mcp list shows the daemon's servers; bad subcommands are usage errors", async () => {
  const home = await tempHome();
  await writeConfig(
    home,
    `[mcp.servers.demo]\ncommand = "bun"\nargs = [${JSON.stringify(STDIO_FIXTURE)}]\n\n[mcp.servers.off]\ncommand = "bun"\nenabled = false\n`,
  );
  const none = await cli(home, ["mcp", "list"]);
  expect(none.code).toBe(3);
  d = await startDaemon(home);
  await withTimeout(
    (async () => {
      for (;;) {
        const run = await cli(home, ["mcp", "list", "--json"]);
        const servers = JSON.parse(run.stdout).servers as { name: string; state: string }[];
        if (servers.find((s) => s.name === "demo")?.state === "ready") return;
        await Bun.sleep(100);
      }
    })(),
    20_000,
    "the demo server to be ready",
  );
  const text = await cli(home, ["mcp", "list"]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^demo\s+ready\s+stdio\s+10 tools$/m);
  expect(text.stdout).toMatch(/^off\s+disabled/m);
  expect((await cli(home, ["mcp", "nope"])).code).toBe(2);
});
