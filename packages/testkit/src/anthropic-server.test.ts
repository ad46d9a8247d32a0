import { afterEach, expect, test } from "bun:test";
import {
  type AnthropicServer,
  anthropicText,
  anthropicToolUse,
  startAnthropicServer,
} from "./anthropic-server";

let server: AnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function events(url: string): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const res = await fetch(`${url}/messages`, { method: "POST", headers: { "x-api-key": "k" }, body: "{}" });
  const out: { event: string; data: Record<string, unknown> }[] = [];
  for (const block of (await res.text()).split("\n\n")) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event && data) out.push({ event, data: JSON.parse(data) });
  }
  return out;
}

test("streams thinking, signature and text in separate content blocks, then stop", async () => {
  server = startAnthropicServer({ apiKey: "k" });
  server.script(anthropicText("Hi you", { thinking: "ponder" }));
  const evs = await events(server.url);
  expect(evs.map((e) => e.event)).toEqual([
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  expect(evs[1]?.data).toMatchObject({ index: 0, content_block: { type: "thinking" } });
  expect(evs[3]?.data).toMatchObject({ delta: { type: "signature_delta", signature: "sig-testkit" } });
  expect(evs[5]?.data).toMatchObject({ index: 1, content_block: { type: "text" } });
  expect(evs[9]?.data).toMatchObject({ delta: { stop_reason: "end_turn" } });
});

test("splits tool_use input into input_json_delta fragments", async () => {
  server = startAnthropicServer();
  server.script(anthropicToolUse([{ id: "toolu_1", name: "ls", args: { path: "/some/dir" } }]));
  const evs = await events(server.url);
  const parts = evs
    .map((e) => e.data.delta as { type?: string; partial_json?: string } | undefined)
    .filter((d) => d?.type === "input_json_delta")
    .map((d) => d?.partial_json);
  expect(parts.length).toBeGreaterThan(1);
  expect(JSON.parse(parts.join(""))).toEqual({ path: "/some/dir" });
  expect(evs.at(-2)?.data).toMatchObject({ delta: { stop_reason: "tool_use" } });
});

test("rejects a wrong x-api-key with an Anthropic error body", async () => {
  server = startAnthropicServer({ apiKey: "right" });
  const res = await fetch(`${server.url}/messages`, {
    method: "POST",
    headers: { "x-api-key": "wrong" },
    body: "{}",
  });
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
});
