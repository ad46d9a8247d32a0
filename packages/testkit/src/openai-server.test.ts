import { afterEach, expect, test } from "bun:test";
import {
  encodeOpenAI,
  type OpenAIServer,
  openaiError,
  openaiText,
  openaiToolCalls,
  startOpenAIServer,
} from "./openai-server";
import { withTimeout } from "./wait";

let server: OpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });
}

function dataLines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));
}

test("streams scripted text as chat-completion chunks ending with [DONE], and records the request", async () => {
  server = startOpenAIServer();
  server.script(
    openaiText("Hello there", {
      reasoning: "hmm",
      usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 1 },
    }),
  );
  const res = await post(server.url, { model: "m", messages: [{ role: "user", content: "hi" }] });
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const lines = dataLines(await res.text());
  expect(lines.at(-1)).toBe("[DONE]");
  const chunks = lines.slice(0, -1).map((l) => JSON.parse(l));
  const deltas = chunks.map((c) => c.choices[0]?.delta ?? {});
  expect(deltas.map((d) => d.content ?? "").join("")).toBe("Hello there");
  expect(deltas.some((d) => d.reasoning_content === "hmm")).toBe(true);
  expect(chunks.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(true);
  expect(chunks.at(-1).usage.prompt_tokens_details.cached_tokens).toBe(1);
  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]?.body).toEqual({ model: "m", messages: [{ role: "user", content: "hi" }] });
});

test("splits tool call arguments across chunks after an id+name chunk", async () => {
  server = startOpenAIServer();
  server.script(openaiToolCalls([{ id: "call_1", name: "read_file", args: { path: "/tmp/some/file.txt" } }]));
  const chunks = dataLines(await (await post(server.url, {})).text())
    .slice(0, -1)
    .map((l) => JSON.parse(l));
  const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
  expect(calls[0]).toMatchObject({ id: "call_1", function: { name: "read_file", arguments: "" } });
  expect(calls.length).toBeGreaterThan(2);
  expect(JSON.parse(calls.map((c) => c.function.arguments).join(""))).toEqual({ path: "/tmp/some/file.txt" });
});

test("pure: a tool call with delayMs pauses before each argument fragment", () => {
  const wire = encodeOpenAI({
    type: "stream",
    steps: [{ type: "tool-call", id: "c", name: "t", args: ["{", "}"], delayMs: 30 }],
  });
  if (wire.type !== "stream") throw new Error("expected a stream");
  expect(wire.frames.map((f) => f.type)).toEqual([
    "write",
    "write",
    "delay",
    "write",
    "delay",
    "write",
    "write",
  ]);
});

test("answers HTTP errors with an OpenAI error body and retry-after", async () => {
  server = startOpenAIServer();
  server.script(openaiError(429, { retryAfter: 2, message: "slow down" }));
  const res = await post(server.url, {});
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toBe("2");
  expect(await res.json()).toMatchObject({ error: { message: "slow down" } });
});

test("a cut resets the connection; an end finishes the body early without [DONE]", async () => {
  server = startOpenAIServer();
  server.script(
    {
      type: "stream",
      steps: [{ type: "text", text: "partial" }, { type: "delay", ms: 20 }, { type: "cut" }],
    },
    { type: "stream", steps: [{ type: "text", text: "partial" }, { type: "end" }] },
  );
  const url = server.url;
  await expect(post(url, {}).then((r) => r.text())).rejects.toThrow();
  const lines = dataLines(await (await post(url, {})).text());
  expect(lines).toHaveLength(2);
  expect(lines).not.toContain("[DONE]");
});

test("a hang is observed as an aborted request when the client aborts", async () => {
  server = startOpenAIServer();
  server.script({ type: "stream", steps: [{ type: "text", text: "a" }, { type: "hang" }] });
  const controller = new AbortController();
  const res = await post(server.url, {}, { signal: controller.signal });
  const reader = res.body!.getReader();
  await withTimeout(reader.read(), 5000, "first chunk");
  controller.abort();
  await server.waitForAborts(1, 5000);
  expect(server.abortedRequests).toBe(1);
});

test("lists models, enforces the api key, and reports an unscripted request", async () => {
  server = startOpenAIServer({ models: ["a", "b"], apiKey: "k-1" });
  const denied = await fetch(`${server.url}/models`);
  expect(denied.status).toBe(401);
  const models = await fetch(`${server.url}/models`, { headers: { authorization: "Bearer k-1" } });
  expect((await models.json()).data.map((m: { id: string }) => m.id)).toEqual(["a", "b"]);
  const unscripted = await post(server.url, {}, { headers: { authorization: "Bearer k-1" } });
  expect(unscripted.status).toBe(599);
  await server.waitForRequests(3, 1000);
});
