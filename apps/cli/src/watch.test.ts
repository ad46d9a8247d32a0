import { expect, test } from "bun:test";
import type { AgentEvent } from "@dispatch/protocol/types";
import { type WatchState, watchLines } from "./commands/watch";

test("watchLines: one line per event kind, a run of deltas summed into one text line", () => {
  const state: WatchState = new Map();
  const at = new Date("2026-12-03T14:00:00.000Z");
  const c = "abcdef0123456789";
  const base = { conversationId: c, turnId: "t" };
  const events: AgentEvent[] = [
    { ...base, type: "user-message", text: "hi\nthere" },
    { ...base, type: "turn-start" },
    { ...base, type: "text-delta", delta: "Hello " },
    { ...base, type: "text-delta", delta: "world\u001b[2J" },
    { ...base, type: "tool-call", toolCallId: "x", toolName: "read_file", input: { path: "a" } },
    { ...base, type: "done", reason: "stop", durationMs: 12 },
    { ...base, type: "turn-sealed" },
  ];
  const lines = events.flatMap((e) => watchLines(e, state, at));
  expect(lines).toEqual([
    '2026-12-03T14:00:00.000Z  abcdef01  user        "hi there"',
    "2026-12-03T14:00:00.000Z  abcdef01  turn-start",
    '2026-12-03T14:00:00.000Z  abcdef01  text        15 chars "Hello world\\x1b[2J"',
    '2026-12-03T14:00:00.000Z  abcdef01  tool-call   read_file {"path":"a"}',
    "2026-12-03T14:00:00.000Z  abcdef01  done        stop 12ms",
    "2026-12-03T14:00:00.000Z  abcdef01  turn-sealed",
  ]);
  expect(state.size).toBe(0);
});
