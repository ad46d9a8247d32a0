import { afterEach, describe, expect, test } from "bun:test";
import { silentLogger } from "@dispatch/kernel";
import {
  createModelCatalog,
  createProviderKinds,
  isProviderError,
  type LanguageModel,
  ProviderError,
  type ProviderPart,
  resolveProvidersConfig,
} from "@dispatch/providers";
import { modelRequest } from "@dispatch/providers/test-support";
import {
  captureError,
  collect,
  type OpenAIServer,
  openaiError,
  openaiText,
  openaiToolCalls,
  startOpenAIServer,
  withTimeout,
} from "@dispatch/testkit";
import { openAICompatibleKind } from "./openai-compatible";

const kinds = createProviderKinds([openAICompatibleKind]);

const KEY = "sk-test-SECRET-0123456789";
let server: OpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function modelFor(url: string, apiKey = KEY): LanguageModel {
  const config = resolveProvidersConfig(
    { credentials: { t: { kind: "openai-compatible", baseUrl: url, apiKey, models: ["m"] } } },
    {},
    kinds,
  );
  if (!config.ok) throw new Error(config.message);
  const resolved = createModelCatalog({ config: config.value, kinds, logger: silentLogger }).resolve("t/m");
  if (!resolved.ok) throw new Error(resolved.error.message);
  return resolved.value;
}

async function failure(model: LanguageModel, req = modelRequest()): Promise<ProviderError> {
  const error = await captureError(() => collect(model.stream(req)));
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  expect(error.message).not.toContain(KEY);
  return error;
}

describe("streaming through the OpenAI-compatible provider", () => {
  test("text and reasoning deltas arrive in order, then usage with cached tokens, then finish", async () => {
    server = startOpenAIServer({ apiKey: KEY });
    server.script(
      openaiText("Hello brave new world", {
        reasoning: "Let me think.",
        usage: { promptTokens: 120, completionTokens: 4, cachedTokens: 100 },
      }),
    );
    const parts = await collect(modelFor(server.url).stream(modelRequest()));
    expect(parts[0]).toEqual({ type: "reasoning-delta", delta: "Let me think." });
    const text = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : []));
    expect(text.length).toBe(4);
    expect(text.join("")).toBe("Hello brave new world");
    expect(parts.slice(-2)).toEqual([
      { type: "usage", usage: { inputTokens: 120, outputTokens: 4, cacheReadTokens: 100 } },
      { type: "finish", reason: "stop" },
    ]);
  });

  test("tool calls split across chunks are yielded whole, with parsed input and finish tool-calls", async () => {
    server = startOpenAIServer();
    server.script(
      openaiToolCalls([
        { id: "call_a", name: "read_file", args: { path: "src/index.ts", range: [1, 20] } },
        { id: "call_b", name: "read_file", args: { path: "src/index.ts", range: [1, 20] } },
      ]),
    );
    const parts = await collect(modelFor(server.url).stream(modelRequest()));
    const calls = parts.filter((p) => p.type === "tool-call");
    expect(calls).toEqual([
      {
        type: "tool-call",
        toolCallId: "call_a",
        toolName: "read_file",
        input: { path: "src/index.ts", range: [1, 20] },
      },
      {
        type: "tool-call",
        toolCallId: "call_b",
        toolName: "read_file",
        input: { path: "src/index.ts", range: [1, 20] },
      },
    ]);
    expect(parts.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });
    // The fragments arrive as they are written (they keep the turn's idle timer alive), then the whole call.
    const deltas = parts.filter((p) => p.type === "tool-input-delta");
    expect(deltas.length).toBeGreaterThan(2);
    const written = (id: string) =>
      deltas
        .filter((d) => d.toolCallId === id)
        .map((d) => d.delta)
        .join("");
    expect(JSON.parse(written("call_a"))).toEqual({ path: "src/index.ts", range: [1, 20] });
    expect(parts.findIndex((p) => p.type === "tool-input-delta")).toBeLessThan(
      parts.findIndex((p) => p.type === "tool-call"),
    );
  });

  test("arguments that are not valid JSON keep the raw string and set inputError", async () => {
    server = startOpenAIServer();
    server.script(openaiToolCalls([{ id: "call_x", name: "write", args: '{"path": "a.txt", "content": ' }]));
    const parts = await collect(modelFor(server.url).stream(modelRequest()));
    const call = parts.find((p): p is Extract<ProviderPart, { type: "tool-call" }> => p.type === "tool-call");
    expect(call?.input).toBe('{"path": "a.txt", "content": ');
    expect(call?.inputError).toContain("not valid JSON");
  });

  test("empty arguments mean an empty object", async () => {
    server = startOpenAIServer();
    server.script({
      type: "stream",
      steps: [
        { type: "tool-call", id: "call_e", name: "now", args: [] },
        { type: "finish", reason: "tool_calls" },
      ],
    });
    const parts = await collect(modelFor(server.url).stream(modelRequest()));
    expect(parts.find((p) => p.type === "tool-call")).toMatchObject({ input: {}, toolName: "now" });
    expect(parts.some((p) => p.type === "tool-call" && p.inputError !== undefined)).toBe(false);
  });

  test("finish reasons map: length, content_filter, and unknown ones become other", async () => {
    server = startOpenAIServer();
    for (const reason of ["length", "content_filter", "weird"]) {
      server.script({
        type: "stream",
        steps: [
          { type: "text", text: "x" },
          { type: "finish", reason },
        ],
      });
    }
    const model = modelFor(server.url);
    const reasons: unknown[] = [];
    for (let i = 0; i < 3; i++) reasons.push((await collect(model.stream(modelRequest()))).at(-1));
    // Without a reasoning effort or tools, neither is sent (many models reject the fields).
    expect(server.requests[0]?.body).not.toHaveProperty("reasoning_effort");
    expect(server.requests[0]?.body).not.toHaveProperty("tools");
    expect(reasons).toEqual([
      { type: "finish", reason: "length" },
      { type: "finish", reason: "content-filter" },
      { type: "finish", reason: "other" },
    ]);
  });

  test("the request carries the converted history, tools, clamped reasoning effort, usage option and key", async () => {
    server = startOpenAIServer({ apiKey: KEY });
    server.script(openaiText("ok"));
    await collect(
      modelFor(server.url).stream(
        modelRequest({
          system: "Be brief.",
          reasoningEffort: "max",
          maxOutputTokens: 256,
          tools: [
            { name: "ls", description: "List a folder", parameters: { type: "object", properties: {} } },
          ],
          messages: [
            { role: "user", chunks: [{ type: "text", text: "list it" }] },
            {
              role: "assistant",
              chunks: [
                { type: "thinking", text: "I should list." },
                { type: "tool-call", toolCallId: "c1", toolName: "ls", input: { path: "." } },
              ],
            },
            {
              role: "tool",
              chunks: [
                { type: "tool-result", toolCallId: "c1", toolName: "ls", content: "a.txt", isError: false },
              ],
            },
            { role: "assistant", chunks: [{ type: "error", message: "boom" }] },
          ],
        }),
      ),
    );
    const body = server.requests[0]?.body as Record<string, unknown>;
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(body).toMatchObject({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "high",
      max_tokens: 256,
      tools: [{ type: "function", function: { name: "ls", description: "List a folder" } }],
    });
    expect(body.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "list it" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "ls", arguments: '{"path":"."}' } }],
      },
      { role: "tool", tool_call_id: "c1", content: "a.txt" },
    ]);
  });
});

describe("failures become ProviderError", () => {
  test("429 is rate limited, retryable, with retry-after", async () => {
    server = startOpenAIServer();
    server.script(openaiError(429, { retryAfter: 3, message: "Rate limit reached" }));
    const error = await failure(modelFor(server.url));
    expect(error).toMatchObject({
      code: "PROVIDER_RATE_LIMITED",
      status: 429,
      retryable: true,
      retryAfterMs: 3000,
    });
    // The AI SDK does not retry on its own: the turn loop decides.
    expect(server.requests).toHaveLength(1);
  });

  test("500 is an HTTP error and retryable; 400 is not retryable; 401 is an auth error", async () => {
    server = startOpenAIServer();
    server.script(openaiError(500), openaiError(400, { message: "bad request" }), openaiError(401));
    const model = modelFor(server.url);
    expect(await failure(model)).toMatchObject({ code: "PROVIDER_HTTP_ERROR", status: 500, retryable: true });
    expect(await failure(model)).toMatchObject({
      code: "PROVIDER_HTTP_ERROR",
      status: 400,
      retryable: false,
    });
    expect(await failure(model)).toMatchObject({ code: "PROVIDER_AUTH", status: 401, retryable: false });
  });

  test("a connection cut mid-stream is a network error, not retryable once content was yielded", async () => {
    server = startOpenAIServer();
    server.script({
      type: "stream",
      steps: [{ type: "text", text: "partial " }, { type: "delay", ms: 30 }, { type: "cut" }],
    });
    const seen: ProviderPart[] = [];
    const error = await captureError(async () => {
      for await (const p of modelFor(server!.url).stream(modelRequest())) seen.push(p);
    });
    expect(isProviderError(error, "PROVIDER_NETWORK")).toBe(true);
    // The reset may or may not let the first chunk through; retryable exactly when nothing was yielded.
    expect((error as ProviderError).retryable).toBe(seen.length === 0);
  });

  test("a body that ends without a finish reason is a truncated response", async () => {
    server = startOpenAIServer();
    server.script({ type: "stream", steps: [{ type: "end" }], model: "m" });
    const error = await failure(modelFor(server.url));
    expect(error).toMatchObject({ code: "PROVIDER_NETWORK", retryable: true });
  });

  test("a malformed line is a bad response", async () => {
    server = startOpenAIServer();
    server.script({
      type: "stream",
      steps: [
        { type: "raw", data: "data: {this is not json\n\n" },
        { type: "text", text: "x" },
        { type: "finish", reason: "stop" },
      ],
    });
    expect(await failure(modelFor(server.url))).toMatchObject({
      code: "PROVIDER_BAD_RESPONSE",
      retryable: false,
    });
  });

  test("an error chunk after content is a stream error that is not retryable", async () => {
    server = startOpenAIServer();
    server.script({
      type: "stream",
      steps: [
        { type: "text", text: "I will" },
        { type: "error-chunk", message: "upstream overloaded", code: "server_error" },
      ],
    });
    const seen: ProviderPart[] = [];
    const error = await captureError(async () => {
      for await (const p of modelFor(server!.url).stream(modelRequest())) seen.push(p);
    });
    expect(seen).toEqual([{ type: "text-delta", delta: "I will" }]);
    expect(error).toMatchObject({ code: "PROVIDER_STREAM_ERROR", retryable: false });
    expect((error as Error).message).toContain("upstream overloaded");
  });

  test("a refused connection is a retryable network error: one sentence naming the URL", async () => {
    const probe = startOpenAIServer();
    const url = probe.url;
    await probe.close();
    const error = await failure(modelFor(url));
    expect(error).toMatchObject({ code: "PROVIDER_NETWORK", retryable: true });
    expect(error.message).toContain(`${url}/chat/completions`);
    expect(error.message).toContain("refused");
    expect(error.message).toContain("baseUrl");
    // The SDK's text repeats its cause; ours says it once.
    expect(error.message.split("refused").length).toBe(2);
  });

  test("an HTTP error carries the status and the first bytes of the body, secrets redacted", async () => {
    server = startOpenAIServer();
    server.script({ type: "error", status: 500, body: `<html>db down; key ${KEY}${"x".repeat(500)}</html>` });
    const error = await failure(modelFor(server.url));
    expect(error).toMatchObject({ code: "PROVIDER_HTTP_ERROR", status: 500 });
    expect(error.message).toContain("HTTP 500");
    expect(error.message).toContain("<html>db down; key [redacted]");
    expect(error.message.length).toBeLessThan(700);
  });

  test("a 401 to a credential without a key is PROVIDER_MISSING_API_KEY naming where to set it", async () => {
    server = startOpenAIServer({ apiKey: KEY });
    server.script(openaiText("never"));
    const config = resolveProvidersConfig({}, { DISPATCH_BASE_URL: server.url, DISPATCH_MODEL: "m" }, kinds);
    if (!config.ok) throw new Error(config.message);
    const model = createModelCatalog({ config: config.value, kinds, logger: silentLogger }).resolve(
      "default/m",
    );
    if (!model.ok) throw new Error(model.error.message);
    const error = await failure(model.value);
    expect(error).toMatchObject({ code: "PROVIDER_MISSING_API_KEY", status: 401 });
    expect(error.message).toContain("DISPATCH_API_KEY");
  });

  test("the API key never appears in error messages, even when the server echoes it", async () => {
    server = startOpenAIServer();
    server.script(openaiError(400, { message: `invalid key ${KEY} for this project` }));
    const error = await failure(modelFor(server.url));
    expect(error.message).toContain("[redacted]");
  });

  test("a secret in a custom header (api-key) never appears in error messages either", async () => {
    server = startOpenAIServer();
    const headerKey = "azure-SECRET-header-987654";
    const config = resolveProvidersConfig(
      {
        credentials: {
          az: {
            kind: "openai-compatible",
            baseUrl: server.url,
            headers: { "api-key": headerKey },
            models: ["m"],
          },
        },
      },
      {},
      kinds,
    );
    if (!config.ok) throw new Error(config.message);
    const model = createModelCatalog({ config: config.value, kinds, logger: silentLogger }).resolve("az/m");
    if (!model.ok) throw new Error(model.error.message);
    server.script(openaiError(401, { message: `key ${headerKey} is not valid` }));
    const error = await failure(model.value);
    expect(server.requests[0]?.headers["api-key"]).toBe(headerKey);
    expect(error.message).not.toContain(headerKey);
    expect(error.message).toContain("[redacted]");
  });
});

describe("abort", () => {
  test("aborting the signal cancels the HTTP request: the server sees the client go away", async () => {
    server = startOpenAIServer();
    server.script({ type: "stream", steps: [{ type: "text", text: "first" }, { type: "hang" }] });
    const controller = new AbortController();
    const iterator = modelFor(server.url)
      .stream(modelRequest({ signal: controller.signal }))
      [Symbol.asyncIterator]();
    const first = await withTimeout(iterator.next(), 5000, "the first streamed part");
    expect(first.value).toEqual({ type: "text-delta", delta: "first" });
    const pending = iterator.next();
    controller.abort();
    const error = await captureError(() => withTimeout(pending, 5000, "the stream to fail after abort"));
    expect(isProviderError(error, "PROVIDER_ABORTED")).toBe(true);
    expect((error as ProviderError).retryable).toBe(false);
    await server.waitForAborts(1, 5000);
  });

  test("aborting while waiting for response headers cancels the request too", async () => {
    server = startOpenAIServer();
    server.script({ type: "stream", steps: [{ type: "hang" }] });
    const controller = new AbortController();
    const run = collect(modelFor(server.url).stream(modelRequest({ signal: controller.signal })));
    await server.waitForRequests(1, 5000);
    controller.abort();
    const error = await captureError(() => withTimeout(run, 5000, "the aborted stream to fail"));
    expect(isProviderError(error, "PROVIDER_ABORTED")).toBe(true);
    await server.waitForAborts(1, 5000);
  });

  test("an already aborted signal fails without a request", async () => {
    server = startOpenAIServer();
    const controller = new AbortController();
    controller.abort();
    expect(await failure(modelFor(server.url), modelRequest({ signal: controller.signal }))).toMatchObject({
      code: "PROVIDER_ABORTED",
    });
    expect(server.requests).toHaveLength(0);
  });

  test("a consumer that stops iterating early releases the HTTP response", async () => {
    server = startOpenAIServer();
    server.script({ type: "stream", steps: [{ type: "text", text: "one" }, { type: "hang" }] });
    for await (const part of modelFor(server.url).stream(modelRequest())) {
      expect(part.type).toBe("text-delta");
      break;
    }
    await server.waitForAborts(1, 5000);
  });
});
