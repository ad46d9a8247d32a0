import { afterEach, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import {
  createModelCatalog,
  createProviderKinds,
  type LanguageModel,
  resolveProvidersConfig,
} from "@dispatch/providers";
import { modelRequest } from "@dispatch/providers/test-support";
import {
  type AnthropicServer,
  anthropicText,
  anthropicToolUse,
  captureError,
  collect,
  startAnthropicServer,
} from "@dispatch/testkit";
import { anthropicKind } from "./anthropic";

const kinds = createProviderKinds([anthropicKind]);

const KEY = "sk-ant-test-SECRET-abcdef";
/** DISPATCH_BASE_URL containing "anthropic" selects the Anthropic kind. */
const PREFIX = "/anthropic/v1";
let server: AnthropicServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function modelFor(url: string, model = "claude-test"): LanguageModel {
  const env = { DISPATCH_BASE_URL: url, DISPATCH_API_KEY: KEY, DISPATCH_MODEL: model };
  const config = resolveProvidersConfig({}, env, kinds);
  if (!config.ok) throw new Error(config.message);
  expect(config.value.credentials[0]?.kind).toBe("anthropic");
  const catalog = createModelCatalog({ config: config.value, kinds, logger: silentLogger });
  const resolved = catalog.resolve(`default/${model}`);
  if (!resolved.ok) throw new Error(resolved.error.message);
  return resolved.value;
}

test("streams thinking with its signature, text, and usage with cache read and write tokens", async () => {
  server = startAnthropicServer({ apiKey: KEY, prefix: PREFIX });
  server.script(
    anthropicText("Hi there", {
      thinking: "Considering.",
      outputTokens: 7,
      usage: { inputTokens: 50, cacheReadTokens: 30, cacheWriteTokens: 20 },
    }),
  );
  const parts = await collect(modelFor(server.url).stream(modelRequest({ system: "Be kind." })));
  expect(parts).toEqual([
    { type: "reasoning-delta", delta: "Considering." },
    { type: "reasoning-signature", signature: "sig-testkit" },
    { type: "text-delta", delta: "Hi " },
    { type: "text-delta", delta: "there" },
    {
      type: "usage",
      usage: { inputTokens: 100, outputTokens: 7, cacheReadTokens: 30, cacheWriteTokens: 20 },
    },
    { type: "finish", reason: "stop" },
  ]);
  const sent = server.requests[0];
  expect(sent?.headers["x-api-key"]).toBe(KEY);
  expect(sent?.body).toMatchObject({
    model: "claude-test",
    stream: true,
    system: [{ type: "text", text: "Be kind." }],
    messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
  });
});

test("tool_use blocks become tool calls; history with signed thinking and tool results goes back", async () => {
  server = startAnthropicServer({ prefix: PREFIX });
  server.script(anthropicToolUse([{ id: "toolu_1", name: "ls", args: { path: "src" } }]));
  const parts = await collect(
    modelFor(server.url).stream(
      modelRequest({
        tools: [
          {
            name: "ls",
            description: "List",
            parameters: { type: "object", properties: { path: { type: "string" } } },
          },
        ],
        messages: [
          { role: "user", chunks: [{ type: "text", text: "list" }] },
          {
            role: "assistant",
            chunks: [
              { type: "thinking", text: "List first.", signature: "sig-1" } as never,
              { type: "tool-call", toolCallId: "toolu_0", toolName: "ls", input: { path: "." } },
            ],
          },
          {
            role: "tool",
            chunks: [
              { type: "tool-result", toolCallId: "toolu_0", toolName: "ls", content: "src", isError: true },
            ],
          },
        ],
      }),
    ),
  );
  expect(parts).toContainEqual({
    type: "tool-call",
    toolCallId: "toolu_1",
    toolName: "ls",
    input: { path: "src" },
  });
  expect(parts.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });
  const body = server.requests[0]?.body as { messages: unknown[]; tools: unknown[] };
  expect(body.tools).toMatchObject([{ name: "ls", description: "List" }]);
  expect(body.messages).toMatchObject([
    { role: "user", content: [{ type: "text", text: "list" }] },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "List first.", signature: "sig-1" },
        { type: "tool_use", id: "toolu_0", name: "ls", input: { path: "." } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_0", is_error: true }] },
  ]);
});

test("an in-stream overloaded_error before content is a retryable stream error", async () => {
  server = startAnthropicServer({ prefix: PREFIX });
  server.script({
    type: "stream",
    steps: [{ type: "error", errorType: "overloaded_error", message: "Overloaded" }],
  });
  const error = await captureError(() => collect(modelFor(server!.url).stream(modelRequest())));
  expect(error).toMatchObject({ code: "PROVIDER_STREAM_ERROR", retryable: true });
});

test("HTTP 429 is rate limited and retryable; the key is not in the message", async () => {
  server = startAnthropicServer({ prefix: PREFIX });
  server.script({ type: "error", status: 429, retryAfter: 1 });
  const error = await captureError(() => collect(modelFor(server!.url).stream(modelRequest())));
  expect(error).toMatchObject({ code: "PROVIDER_RATE_LIMITED", retryable: true, retryAfterMs: 1000 });
  expect((error as Error).message).not.toContain(KEY);
});

test("a stream that stops after some text without message_stop is a truncated response", async () => {
  server = startAnthropicServer({ prefix: PREFIX });
  server.script({ type: "stream", steps: [{ type: "text", text: "half" }] });
  const error = await captureError(() => collect(modelFor(server!.url).stream(modelRequest())));
  expect(error).toMatchObject({ code: "PROVIDER_NETWORK", retryable: false });
});

test("reasoning effort becomes a thinking budget; without it no thinking is requested", async () => {
  server = startAnthropicServer({ prefix: PREFIX });
  server.script(anthropicText("a"), anthropicText("b"));
  const model = modelFor(server.url, "claude-sonnet-4-5");
  await collect(model.stream(modelRequest({ reasoningEffort: "medium" })));
  await collect(model.stream(modelRequest()));
  expect(server.requests[0]?.body).toMatchObject({
    thinking: { type: "enabled", budget_tokens: expect.any(Number) },
  });
  expect(server.requests[1]?.body).not.toHaveProperty("thinking");
});
