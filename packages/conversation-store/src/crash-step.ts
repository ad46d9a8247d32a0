/** Pure: the deterministic steps the crash fixture writes, so the test can check every stored chunk. */
import type { Chunk } from "@dispatch/protocol/types";
import type { AppendMessage } from "./contract";

export const STEP_CHUNKS = 3;

/** Pure: step `n` (0-based): a user message and an assistant message, 3 chunks, one of them large. */
export function crashStep(n: number): AppendMessage[] {
  return [
    { messageId: `u${n}`, role: "user", chunks: crashChunks(n).slice(0, 1) },
    { messageId: `a${n}`, role: "assistant", chunks: crashChunks(n).slice(1), turnId: `t${n}` },
  ];
}

/** Pure: the chunks of step `n` in seq order. The second spans several pages so commits take time. */
export function crashChunks(n: number): Chunk[] {
  return [
    { type: "text", text: `question ${n}` },
    { type: "thinking", text: `${n} `.repeat(2000 + (n % 7) * 300) },
    { type: "text", text: `answer ${n}` },
  ];
}
