import { describe, expect, test } from "bun:test";
import type { Chunk } from "@dispatch/protocol/types";
import fc from "fast-check";
import type { AppendMessage } from "./contract";
import { openTestStore, unwrap } from "./test-support";

const chunkArb: fc.Arbitrary<Chunk> = fc.oneof(
  fc.record({ type: fc.constant("text" as const), text: fc.string({ maxLength: 12 }) }),
  fc.record({ type: fc.constant("thinking" as const), text: fc.string({ maxLength: 12 }) }),
  fc.record({ type: fc.constant("error" as const), message: fc.string({ maxLength: 12 }) }),
);

/** A step: messages of chunks; `poison` swaps one chunk for one with no JSON form (a BigInt input). */
const stepArb = fc.record({
  messages: fc.array(
    fc.record({
      role: fc.constantFrom("user" as const, "assistant" as const, "system" as const),
      chunks: fc.array(chunkArb, { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  poison: fc.option(fc.nat(), { nil: undefined }),
});

const windowArb = fc.record({
  sinceSeq: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  beforeSeq: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  limit: fc.option(fc.nat({ max: 10 }), { nil: undefined }),
});

describe("the log (property)", () => {
  test("any mix of good and failing steps leaves exactly the good ones, gap-free, and windows slice them", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 8 }),
        fc.array(windowArb, { maxLength: 5 }),
        (steps, windows) => {
          using store = openTestStore(":memory:");
          const model: { seq: number; messageId: string; chunk: Chunk }[] = [];
          steps.forEach((step, s) => {
            const messages: AppendMessage[] = step.messages.map((m, i) => ({
              messageId: `s${s}m${i}`,
              role: m.role,
              chunks: m.chunks.map((c) => ({ ...c })),
            }));
            const flat = messages.flatMap((m) =>
              m.chunks.map((chunk) => ({ messageId: m.messageId, chunk })),
            );
            if (step.poison !== undefined) {
              // Valid for the schema (input is unknown), so it fails inside the write transaction.
              const at = step.poison % flat.length;
              const owner = messages.find((m) => m.messageId === flat[at]?.messageId);
              const idx = owner ? owner.chunks.indexOf(flat[at]?.chunk as Chunk) : -1;
              if (owner && idx >= 0) {
                owner.chunks[idx] = { type: "tool-call", toolCallId: "x", toolName: "x", input: { n: 1n } };
              }
            }
            const r = store.appendStep("c", messages);
            if (step.poison !== undefined) {
              expect(r.ok).toBe(false);
              return;
            }
            expect(unwrap(r)).toEqual({ firstSeq: model.length + 1, lastSeq: model.length + flat.length });
            for (const f of flat) model.push({ seq: model.length + 1, ...f });
          });

          const all = store.readWindow("c");
          if (model.length === 0 && !all.ok) return; // every step failed: the conversation was never created
          expect(
            unwrap(all).chunks.map((c) => ({ seq: c.seq, messageId: c.messageId, chunk: c.chunk })),
          ).toEqual(model);
          for (const w of windows) {
            const since = w.sinceSeq ?? 0;
            const before = w.beforeSeq ?? Number.POSITIVE_INFINITY;
            let expected = model.filter((m) => m.seq > since && m.seq < before).map((m) => m.seq);
            if (w.limit !== undefined) expected = expected.slice(Math.max(0, expected.length - w.limit));
            const got = unwrap(store.readWindow("c", w));
            expect(got.chunks.map((c) => c.seq)).toEqual(expected);
            expect(got.latestSeq).toBe(expected.at(-1) ?? since);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
