import { expect, test } from "bun:test";
import { localKind } from "./local";

test("pure: local/echo and local/slow report the configured context window; factory options beat the section", () => {
  const kind = localKind({ slowDelayMs: 0 });
  expect(kind.models({ contextWindow: 1000 })).toEqual([
    { name: "local/echo", info: { contextWindow: 1000, vision: false } },
    { name: "local/slow", info: { contextWindow: 1000, vision: false } },
  ]);
  expect(kind.models(undefined)[0]?.info.contextWindow).toBe(32_768);
  expect(kind.section.safeParse({ delayMs: -1 }).success).toBe(false);
  expect(kind.section.safeParse({ delay: 1 }).success).toBe(false);
});

test("the slow model streams at the overridden delay, so a section's large delay does not apply", async () => {
  const kind = localKind({ slowDelayMs: 0 });
  const [, slow] = kind.models({ slowDelayMs: 60_000 });
  const model = kind.createModel(slow!, { slowDelayMs: 60_000 });
  const parts: string[] = [];
  for await (const p of model.stream({
    messages: [{ role: "user", chunks: [{ type: "text", text: "hi" }] }],
    tools: [],
    signal: AbortSignal.timeout(5_000),
  }))
    parts.push(p.type);
  expect(model.name).toBe("local/slow");
  expect(parts.at(-1)).toBe("finish");
});
