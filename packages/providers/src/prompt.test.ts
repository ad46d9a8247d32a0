import { expect, test } from "bun:test";
import type { HistoryMessage } from "./contract";
import { toPrompt, toTools } from "./prompt";

test("pure: leading system messages merge with the system prompt; a late one becomes a user note", () => {
  const messages: HistoryMessage[] = [
    { role: "system", chunks: [{ type: "system", text: "Summary of earlier work." }] },
    { role: "user", chunks: [{ type: "text", text: "hi" }] },
    { role: "system", chunks: [{ type: "text", text: "Budget is low." }] },
  ];
  expect(toPrompt(messages, "You are Dispatch.")).toEqual([
    { role: "system", content: "You are Dispatch.\n\nSummary of earlier work." },
    { role: "user", content: [{ type: "text", text: "hi" }] },
    { role: "user", content: [{ type: "text", text: "[system note] Budget is low." }] },
  ]);
});

test("pure: error chunks are dropped and messages left empty are skipped", () => {
  const messages: HistoryMessage[] = [
    { role: "user", chunks: [{ type: "text", text: "go" }] },
    { role: "assistant", chunks: [{ type: "error", message: "provider failed", code: "PROVIDER_NETWORK" }] },
    {
      role: "assistant",
      chunks: [
        { type: "text", text: "" },
        { type: "text", text: "done" },
      ],
    },
  ];
  expect(toPrompt(messages)).toEqual([
    { role: "user", content: [{ type: "text", text: "go" }] },
    { role: "assistant", content: [{ type: "text", text: "done" }] },
  ]);
});

test("pure: assistant thinking, text and tool calls keep their order; results become a tool message", () => {
  const messages: HistoryMessage[] = [
    {
      role: "assistant",
      chunks: [
        { type: "thinking", text: "plan" },
        { type: "text", text: "Looking." },
        { type: "tool-call", toolCallId: "1", toolName: "read", input: { path: "a" } },
        { type: "tool-call", toolCallId: "2", toolName: "read", input: '{"path": ' },
      ],
    },
    {
      role: "tool",
      chunks: [
        { type: "tool-result", toolCallId: "1", toolName: "read", content: "A", isError: false },
        { type: "tool-result", toolCallId: "2", toolName: "read", content: "bad JSON", isError: true },
      ],
    },
  ];
  expect(toPrompt(messages, undefined, { keepReasoning: true })).toEqual([
    {
      role: "assistant",
      content: [
        { type: "reasoning", text: "plan" },
        { type: "text", text: "Looking." },
        { type: "tool-call", toolCallId: "1", toolName: "read", input: { path: "a" } },
        { type: "tool-call", toolCallId: "2", toolName: "read", input: {} },
      ],
    },
    {
      role: "tool",
      content: [
        { type: "tool-result", toolCallId: "1", toolName: "read", output: { type: "text", value: "A" } },
        {
          type: "tool-result",
          toolCallId: "2",
          toolName: "read",
          output: { type: "error-text", value: "bad JSON" },
        },
      ],
    },
  ]);
});

test("pure: a tool result stored inside another message is split into its own tool message", () => {
  const messages: HistoryMessage[] = [
    {
      role: "assistant",
      chunks: [
        { type: "tool-call", toolCallId: "1", toolName: "ls", input: {} },
        { type: "tool-result", toolCallId: "1", toolName: "ls", content: "x", isError: false },
        { type: "text", text: "Found x." },
      ],
    },
  ];
  expect(toPrompt(messages).map((m) => m.role)).toEqual(["assistant", "tool", "assistant"]);
});

test("pure: a signed thinking chunk carries its signature for Anthropic", () => {
  const thinking = { type: "thinking", text: "t", signature: "sig" } as const;
  const [message] = toPrompt([{ role: "assistant", chunks: [thinking] }], undefined, { keepReasoning: true });
  expect(message).toEqual({
    role: "assistant",
    content: [{ type: "reasoning", text: "t", providerOptions: { anthropic: { signature: "sig" } } }],
  });
});

test("pure: images: data URLs inline as base64, http URLs by reference, unparsable ones as a note", () => {
  const [message] = toPrompt([
    {
      role: "user",
      chunks: [
        { type: "text", text: "what is this?" },
        { type: "image", url: "data:image/png;base64,iVBORw0KGgo=" },
        { type: "image", url: "https://example.com/cat.jpg", mimeType: "image/jpeg" },
        { type: "image", url: "not a url" },
      ],
    },
  ]);
  expect(message).toEqual({
    role: "user",
    content: [
      { type: "text", text: "what is this?" },
      { type: "file", mediaType: "image/png", data: { type: "data", data: "iVBORw0KGgo=" } },
      {
        type: "file",
        mediaType: "image/jpeg",
        data: { type: "url", url: new URL("https://example.com/cat.jpg") },
      },
      { type: "text", text: "[image: not a url]" },
    ],
  });
});

test("pure: tool specs become function tools", () => {
  expect(toTools([{ name: "ls", description: "List", parameters: { type: "object" } }])).toEqual([
    { type: "function", name: "ls", description: "List", inputSchema: { type: "object" } },
  ]);
});

test("pure: thinking is dropped unless keepReasoning is set", () => {
  const messages: HistoryMessage[] = [
    {
      role: "assistant",
      chunks: [
        { type: "thinking", text: "hmm" },
        { type: "text", text: "Hi" },
      ],
    },
  ];
  expect(toPrompt(messages)).toEqual([{ role: "assistant", content: [{ type: "text", text: "Hi" }] }]);
});

test("images a tool returned go to vision models as a user message after the results, else nowhere", () => {
  const messages: HistoryMessage[] = [
    { role: "user", chunks: [{ type: "text", text: "draw" }] },
    {
      role: "assistant",
      chunks: [{ type: "tool-call", toolCallId: "c1", toolName: "mcp__x__draw", input: {} }],
    },
    {
      role: "tool",
      chunks: [
        {
          type: "tool-result",
          toolCallId: "c1",
          toolName: "mcp__x__draw",
          content: "[image: image/png, 3 B]",
          isError: false,
        },
        { type: "image", url: "data:image/png;base64,AAAA", mimeType: "image/png" },
      ],
    },
  ];
  const plain = toPrompt(messages);
  expect(plain.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
  const vision = toPrompt(messages, undefined, { vision: true });
  expect(vision.map((m) => m.role)).toEqual(["user", "assistant", "tool", "user"]);
  expect(vision[3]).toEqual({
    role: "user",
    content: [{ type: "file", mediaType: "image/png", data: { type: "data", data: "AAAA" } }],
  });
});
