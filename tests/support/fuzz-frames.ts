/**
 * fast-check arbitraries for inbound WebSocket frames: random text, random JSON, random objects with a
 * known `type`, binary frames, and valid protocol messages (the protocol's own examples) with one to
 * three mutations applied (fields set to random JSON, deleted or oversized, the type misspelled, the
 * JSON text truncated or spliced, deep nesting, wrapping in an array).
 */
import fc from "fast-check";
import { exampleClientMessages } from "./deps";

export type FuzzFrame =
  | { kind: "text"; text: string; origin: string }
  | { kind: "binary"; bytes: Uint8Array };

const CLIENT_TYPES = [...new Set(exampleClientMessages.map((m) => m.type))];
const FIELD_NAMES = [
  "type",
  "id",
  "surfaceId",
  "conversationId",
  "actionId",
  "payload",
  "message",
  "text",
  "model",
  "cwd",
  "reasoningEffort",
  "workspaceId",
  "computerId",
  "images",
  "resume",
  "messageId",
  "requestId",
  "decision",
];

const fieldName = fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 }));
const jsonValue = fc.jsonValue({ maxDepth: 3 });

type Mutation =
  | { kind: "set"; key: string; value: unknown }
  | { kind: "delete"; key: string }
  | { kind: "retype"; value: unknown }
  | { kind: "huge"; key: string; size: number }
  | { kind: "nest"; key: string; depth: number }
  | { kind: "truncate"; at: number }
  | { kind: "splice"; at: number; text: string }
  | { kind: "wrap" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("set" as const), key: fieldName, value: jsonValue }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: fieldName }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("retype" as const),
      value: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom(
          ...CLIENT_TYPES.map((t) => t.toUpperCase()),
          ...CLIENT_TYPES.map((t) => `${t} `),
          "chat.",
          "chat.sendx",
          "chat.queue.cancel.all",
          "",
        ),
        jsonValue,
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("huge" as const),
      key: fc.constantFrom("id", "conversationId", "surfaceId", "model", "workspaceId", "requestId"),
      size: fc.integer({ min: 150, max: 20_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("nest" as const),
      key: fc.constantFrom("payload", "resume", "images", "message"),
      depth: fc.integer({ min: 1, max: 5_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("splice" as const),
      at: fc.nat(),
      text: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('"', "{", "}", ",", ":", "\\", "\u0000")),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "wrap" as const }) },
);

/** Pure: applies mutations to a copy of a message; the text-level ones work on its JSON. */
export function mutate(message: object, mutations: readonly Mutation[]): string {
  const obj: Record<string, unknown> = structuredClone(message) as Record<string, unknown>;
  let wrap = false;
  const textOps: Mutation[] = [];
  for (const m of mutations) {
    switch (m.kind) {
      case "set":
        obj[m.key] = m.value;
        break;
      case "delete":
        delete obj[m.key];
        break;
      case "retype":
        obj.type = m.value;
        break;
      case "huge":
        obj[m.key] = "x".repeat(m.size);
        break;
      case "nest": {
        let v: unknown = "deep";
        for (let i = 0; i < m.depth; i++) v = [v];
        obj[m.key] = v;
        break;
      }
      case "wrap":
        wrap = true;
        break;
      default:
        textOps.push(m);
    }
  }
  let text = JSON.stringify(wrap ? [obj] : obj);
  for (const m of textOps) {
    if (m.kind === "truncate") text = text.slice(0, m.at % (text.length + 1));
    else if (m.kind === "splice") {
      const at = m.at % (text.length + 1);
      text = text.slice(0, at) + m.text + text.slice(at);
    }
  }
  return text;
}

const text =
  (origin: string) =>
  (t: string): FuzzFrame => ({ kind: "text", text: t, origin });

/** Every kind of frame, weighted towards near-valid messages (they reach the deepest code). */
export const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map(text("string")) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }).map(text("unicode")) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map(text("json")) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...CLIENT_TYPES), fc.dictionary(fieldName, jsonValue, { maxKeys: 5 }))
      .map(([type, rest]) => JSON.stringify({ ...rest, type }))
      .map(text("typed-object")),
  },
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.constantFrom(...exampleClientMessages), fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([m, ops]) => mutate(m, ops))
      .map(text("mutated")),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(...exampleClientMessages)
      .map((m) => JSON.stringify(m))
      .map(text("valid")),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): FuzzFrame => ({ kind: "binary", bytes })),
  },
);
