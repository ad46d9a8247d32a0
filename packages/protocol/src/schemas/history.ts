import { z } from "zod";
import { named, PositiveInt, RoleSchema } from "./common";

export const TextChunkSchema = named(z.object({ type: z.literal("text"), text: z.string() }), "TextChunk");
export const ThinkingChunkSchema = named(
  z.object({ type: z.literal("thinking"), text: z.string(), signature: z.string().optional() }),
  "ThinkingChunk",
);
export const ToolCallChunkSchema = named(
  z.object({
    type: z.literal("tool-call"),
    toolCallId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
    stepId: z.string().optional(),
  }),
  "ToolCallChunk",
);
export const ToolResultChunkSchema = named(
  z.object({
    type: z.literal("tool-result"),
    toolCallId: z.string(),
    toolName: z.string(),
    content: z.string(),
    isError: z.boolean(),
    stepId: z.string().optional(),
  }),
  "ToolResultChunk",
);
export const ErrorChunkSchema = named(
  z.object({ type: z.literal("error"), message: z.string(), code: z.string().optional() }),
  "ErrorChunk",
);
export const SystemChunkSchema = named(
  z.object({ type: z.literal("system"), text: z.string() }),
  "SystemChunk",
);
export const ImageChunkSchema = named(
  z.object({
    type: z.literal("image"),
    url: z.string(),
    mimeType: z.string().optional(),
  }),
  "ImageChunk",
);

export const ChunkSchema = named(
  z.discriminatedUnion("type", [
    TextChunkSchema,
    ThinkingChunkSchema,
    ToolCallChunkSchema,
    ToolResultChunkSchema,
    ErrorChunkSchema,
    SystemChunkSchema,
    ImageChunkSchema,
  ]),
  "Chunk",
  "One unit of the append-only conversation log.",
);

export const StoredChunkSchema = named(
  z.object({ seq: PositiveInt, role: RoleSchema, chunk: ChunkSchema, messageId: z.string().optional() }),
  "StoredChunk",
  "A chunk with its per-conversation seq (1-based, gap-free, never reused).",
);
