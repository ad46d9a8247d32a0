/**
 * End to end: a model behind the testkit's scripted OpenAI server calls an MCP tool that returns an
 * image; the next request carries the image only when the model is configured with vision.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { type OpenAIServer, startOpenAIServer } from "@dispatch/testkit";
import { STDIO_FIXTURE } from "@dispatch/tools-mcp/test-support";
import {
  ndjson,
  type RunningTestDaemon,
  readUntil,
  reap,
  startDaemon,
  tempHome,
  writeConfig,
} from "./test-support";

setDefaultTimeout(30_000);

let d: RunningTestDaemon;
let llm: OpenAIServer;
const IMAGE_URL = "data:image/png;base64,iVBORw0KGgo=";

beforeAll(async () => {
  llm = startOpenAIServer();
  const home = await tempHome();
  await writeConfig(
    home,
    `[providers.credentials.vis]
kind = "openai-compatible"
baseUrl = "${llm.url}"
apiKey = "key-0123456789"
models = { seer = { vision = true }, blind = {} }

[mcp.servers.demo]
command = "bun"
args = [${JSON.stringify(STDIO_FIXTURE)}]
permission = "allow"
`,
  );
  d = await startDaemon(home);
  // The server starts in the background; wait until its tools are offered.
  for (;;) {
    const { servers } = (await (await d.api("/mcp/servers")).json()) as { servers: { state: string }[] };
    if (servers[0]?.state === "ready") break;
    await Bun.sleep(50);
  }
});
afterAll(async () => {
  reap(d);
  await llm.close();
});

async function turnWith(model: string): Promise<string> {
  const before = llm.requests.length;
  llm.script(
    {
      type: "stream",
      steps: [
        { type: "tool-call", id: "call-1", name: "mcp__demo__picture", args: ["{}"] },
        { type: "finish", reason: "tool_calls" },
      ],
    },
    {
      type: "stream",
      steps: [
        { type: "text", text: "a dot" },
        { type: "finish", reason: "stop" },
      ],
    },
  );
  const res = await d.api("/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "draw", model }),
  });
  const seen = await readUntil(ndjson(res), (e) => e.type === "turn-sealed", "turn-sealed");
  expect(seen.find((e) => e.type === "tool-result")).toMatchObject({
    toolName: "mcp__demo__picture",
    isError: false,
  });
  const tools = JSON.stringify(llm.requests[before]?.body ?? null);
  expect(tools).toContain("mcp__demo__picture");
  return JSON.stringify(llm.requests[before + 1]?.body);
}

test("a vision model receives the image an MCP tool returned", async () => {
  expect(await turnWith("vis/seer")).toContain(IMAGE_URL);
});

test("a model without vision gets the text note only", async () => {
  const body = await turnWith("vis/blind");
  expect(body).not.toContain(IMAGE_URL);
  expect(body).toContain("[image: image/png");
});
