import { expect, test } from "bun:test";
import type { HistoryMessage, ProviderPart } from "@dispatch/providers";
import { modelRequest } from "@dispatch/providers/test-support";
import { captureError, collect } from "@dispatch/testkit";
import { createLocalModel, LOCAL_INTRO, parseDirectives, planLocalAnswer, ratePacer } from "./local-model";

const echo = createLocalModel("local/echo", 0, { contextWindow: 1000 });

function user(text: string): HistoryMessage {
  return { role: "user", chunks: [{ type: "text", text }] };
}

function textOf(parts: ProviderPart[], type: "text-delta" | "reasoning-delta" = "text-delta"): string {
  return parts.flatMap((p) => (p.type === type ? [p.delta] : [])).join("");
}

test("echoes the last user message token by token, says what it is, and reports word-count usage", async () => {
  const parts = await collect(
    echo.stream(modelRequest({ system: "sys prompt", messages: [user("one two three")] })),
  );
  expect(textOf(parts)).toBe(`${LOCAL_INTRO} one two three`);
  expect(parts.filter((p) => p.type === "text-delta").length).toBe(LOCAL_INTRO.split(" ").length + 3);
  expect(parts.slice(-2)).toEqual([
    { type: "usage", usage: { inputTokens: 5, outputTokens: LOCAL_INTRO.split(" ").length + 3 } },
    { type: "finish", reason: "stop" },
  ]);
});

test("is deterministic", async () => {
  const request = modelRequest({ messages: [user("same")], reasoningEffort: "low" });
  expect(await collect(echo.stream(request))).toEqual(await collect(echo.stream(request)));
});

test("streams a short reasoning first when a reasoning effort is set", async () => {
  const parts = await collect(
    echo.stream(modelRequest({ messages: [user("a b")], reasoningEffort: "high" })),
  );
  expect(parts[0]?.type).toBe("reasoning-delta");
  expect(textOf(parts, "reasoning-delta")).toBe("The user wrote 2 words; I will echo them back.");
});

test("/tool calls the named tool, then summarizes its result", async () => {
  const ask = user('please\n/tool read_file {"path": "a.txt"}');
  const first = await collect(echo.stream(modelRequest({ messages: [ask] })));
  const call = first.find((p) => p.type === "tool-call");
  expect(call).toEqual({
    type: "tool-call",
    toolCallId: "echo-call-1-1",
    toolName: "read_file",
    input: { path: "a.txt" },
  });
  expect(first.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });

  const after = await collect(
    echo.stream(
      modelRequest({
        messages: [
          ask,
          {
            role: "assistant",
            chunks: [
              {
                type: "tool-call",
                toolCallId: "echo-call-1-1",
                toolName: "read_file",
                input: { path: "a.txt" },
              },
            ],
          },
          {
            role: "tool",
            chunks: [
              {
                type: "tool-result",
                toolCallId: "echo-call-1-1",
                toolName: "read_file",
                content: "hello file",
                isError: false,
              },
            ],
          },
        ],
      }),
    ),
  );
  expect(after.some((p) => p.type === "tool-call")).toBe(false);
  expect(textOf(after)).toBe(`${LOCAL_INTRO} please The tool read_file returned: hello file`);
  expect(after.at(-1)).toEqual({ type: "finish", reason: "stop" });
});

test("/tool with arguments that are not JSON yields a tool call with inputError", async () => {
  const parts = await collect(echo.stream(modelRequest({ messages: [user("/tool write {oops")] })));
  expect(parts.find((p) => p.type === "tool-call")).toMatchObject({
    input: "{oops",
    inputError: expect.stringContaining("JSON"),
  });
});

test("pure: /steps N keeps calling a tool (default: the first offered) until N results came back", () => {
  const tools = [{ name: "noop_tool", description: "", parameters: {} }];
  const messages: HistoryMessage[] = [user("/steps 2")];
  const first = planLocalAnswer({ messages, tools });
  expect(first.toolCall).toMatchObject({ toolName: "noop_tool", input: {} });
  const result = (id: string): HistoryMessage => ({
    role: "tool",
    chunks: [{ type: "tool-result", toolCallId: id, toolName: "noop_tool", content: "ok", isError: false }],
  });
  messages.push(result("1"));
  const second = planLocalAnswer({ messages, tools });
  expect(second.toolCall?.toolCallId).not.toBe(first.toolCall?.toolCallId);
  messages.push(result("2"));
  expect(planLocalAnswer({ messages, tools }).toolCall).toBeUndefined();
});

test("/fail raises a ProviderError before any output", async () => {
  const seen: ProviderPart[] = [];
  const error = await captureError(async () => {
    for await (const p of echo.stream(modelRequest({ messages: [user("/fail")] }))) seen.push(p);
  });
  expect(seen).toEqual([]);
  expect(error).toMatchObject({ name: "ProviderError", code: "PROVIDER_LOCAL_FAILURE", retryable: false });
});

test("aborting stops the stream with PROVIDER_ABORTED", async () => {
  const slow = createLocalModel("local/slow", 10_000, {});
  const controller = new AbortController();
  const run = collect(slow.stream(modelRequest({ messages: [user("x")], signal: controller.signal })));
  controller.abort();
  expect(await captureError(() => run)).toMatchObject({ code: "PROVIDER_ABORTED" });
});

test("/long and /slow shape the answer", async () => {
  const parts = await collect(echo.stream(modelRequest({ messages: [user("hi\n/long 3\n/slow 0")] })));
  expect(textOf(parts)).toBe(`${LOCAL_INTRO} hi word1 word2 word3`);
});

test("/rate bounds the average token rate, even far above one token per millisecond", async () => {
  const words = 600;
  const rate = 6000; // 6 tokens per ms: /slow cannot express this
  const started = performance.now();
  const parts = await collect(
    echo.stream(modelRequest({ messages: [user(`hi\n/long ${words}\n/rate ${rate}`)] })),
  );
  const elapsed = performance.now() - started;
  const text = textOf(parts);
  expect(text.endsWith(` word${words}`)).toBe(true);
  const tokens = text.split(" ").length;
  // A lower bound only (a busy machine makes it slower, never faster): the last batch may go out unslept.
  expect(elapsed).toBeGreaterThanOrEqual(((tokens - rate / 1000) * 1000) / rate - 1);
  expect(planLocalAnswer({ messages: [user("x\n/rate 0")], tools: [] }).ratePerSecond).toBe(0);
});

test("/rate replaces the model's default per-token delay (local/echo has one); /slow still wins", async () => {
  // A default delay of a minute per token: only a stream that ignores it can finish in this test.
  const patient = createLocalModel("local/echo", 60_000, {});
  for (const directive of ["/rate 100000", "/rate 0"]) {
    const started = performance.now();
    const parts = await collect(
      patient.stream(modelRequest({ messages: [user(`hi\n/long 50\n${directive}`)] })),
    );
    expect(textOf(parts).endsWith(" word50")).toBe(true);
    expect(performance.now() - started).toBeLessThan(20_000);
  }
  expect(planLocalAnswer({ messages: [user("x\n/rate 5\n/slow 7")], tools: [] })).toMatchObject({
    delayMs: 7,
    ratePerSecond: 5,
  });
});

test("a directive only counts on its own line", () => {
  expect(parseDirectives("please /rate 5 this")).toEqual({ rest: "please /rate 5 this", fail: false });
});

test("pure: the rate pacer sleeps once per ~1 ms batch while ahead and never bursts to catch up", () => {
  let clock = 0;
  const tick = ratePacer(4000, () => clock); // batches of 4 tokens, 1 ms each
  expect([tick(), tick(), tick(), tick()]).toEqual([undefined, undefined, undefined, 1]);
  clock = 1;
  expect([tick(), tick(), tick(), tick()]).toEqual([undefined, undefined, undefined, 1]);
  clock = 0.5 + 2; // overslept by half a millisecond: the next batch sleeps less
  expect([tick(), tick(), tick(), tick()]).toEqual([undefined, undefined, undefined, 0.5]);
  clock = 1000; // stalled for a second: once it notices (next batch), only 20 ms worth (80 tokens) go unslept
  const unslept = Array.from({ length: 200 }, tick).findIndex((ms) => ms !== undefined);
  expect(unslept).toBe(4 + 80 + 3);
});

test("aborting while /rate sleeps stops the stream with PROVIDER_ABORTED at once", async () => {
  const controller = new AbortController();
  const stream = echo.stream(modelRequest({ messages: [user("x\n/rate 1")], signal: controller.signal }));
  const first = stream[Symbol.asyncIterator]().next(); // the first token is due in a second
  controller.abort();
  expect(await captureError(() => first)).toMatchObject({ code: "PROVIDER_ABORTED" });
});

test("pure: directives are whole lines; everything else is the message", () => {
  expect(parseDirectives('hello\n/steps 3 ls {"path": "."}\n/fail\nworld')).toEqual({
    rest: "hello\nworld",
    steps: { count: 3, name: "ls", args: '{"path": "."}' },
    fail: true,
  });
  expect(parseDirectives("mention /tool inline").rest).toBe("mention /tool inline");
  expect(parseDirectives("go\n/rate 30000")).toEqual({ rest: "go", fail: false, rate: 30_000 });
});
