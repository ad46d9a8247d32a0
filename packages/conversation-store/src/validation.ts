/**
 * Input schemas (zod) for everything that enters the database, so garbage never reaches the log, and
 * the helper that turns a zod failure into a STORE_INVALID_INPUT value naming the field path.
 */
import {
  ChunkSchema,
  ConversationStatusSchema,
  ReasoningEffortSchema,
  RoleSchema,
  UsageSchema,
} from "@dispatch/protocol";
import { z } from "zod";
import type { StoreError } from "./contract";

const nonEmpty = z.string().min(1);
/** Ids are opaque but bounded, so a runaway value cannot bloat every index. */
export const IdSchema = nonEmpty.max(256);
/**
 * An id that is only looked up: any string (one that was never stored is simply not found), but
 * never another type, which bun:sqlite would bind in surprising ways (an array as positional values).
 */
export const KeySchema = z.string();

/** Lowercase slug, 1–64 characters, starting with a letter or digit. */
export const WorkspaceIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "workspace id must be a slug: a-z, 0-9, '-', '_' (max 64)");

export const AppendMessageSchema = z.object({
  messageId: IdSchema,
  role: RoleSchema,
  chunks: z.array(ChunkSchema).min(1),
  turnId: IdSchema.optional(),
});
export const AppendStepSchema = z.array(AppendMessageSchema).min(1);

const InitFields = {
  workspaceId: WorkspaceIdSchema.optional(),
  model: nonEmpty.optional(),
  cwd: nonEmpty.optional(),
  reasoningEffort: ReasoningEffortSchema.optional(),
  title: z.string().optional(),
};
export const ConversationInitSchema = z.object({ id: IdSchema, ...InitFields });
export const InitWithoutIdSchema = z.object(InitFields);
export const CreateConversationSchema = ConversationInitSchema.extend({
  status: ConversationStatusSchema.optional(),
  compactedFrom: IdSchema.optional(),
  createdAt: z.number().int().nonnegative().optional(),
});

const seq = z.number().int().nonnegative();
export const ConversationPatchSchema = z.strictObject({
  title: z.string().optional(),
  status: ConversationStatusSchema.optional(),
  model: nonEmpty.nullable().optional(),
  cwd: nonEmpty.nullable().optional(),
  reasoningEffort: ReasoningEffortSchema.nullable().optional(),
  workspaceId: WorkspaceIdSchema.optional(),
  lastActivityAt: z.number().int().nonnegative().optional(),
  historyStartSeq: z.number().int().positive().optional(),
});

export const WindowQuerySchema = z.strictObject({
  sinceSeq: seq.optional(),
  beforeSeq: seq.optional(),
  limit: z.number().int().nonnegative().optional(),
  maxBytes: z.number().int().positive().optional(),
});

export const ListQuerySchema = z.strictObject({
  status: z.array(ConversationStatusSchema).optional(),
  workspaceId: z.string().optional(),
  q: z.string().optional(),
  limit: z.number().int().positive().max(500).optional(),
  cursor: z.string().optional(),
});

export const HistoryOptionsSchema = z.strictObject({ fromSeq: seq.optional() });

export const CopyRangeSchema = z.strictObject({ fromSeq: seq.min(1).optional(), uptoSeq: seq });

export const CompactionSchema = z.strictObject({
  archive: z
    .strictObject({ conversation: CreateConversationSchema, fromSeq: seq.min(1).optional(), uptoSeq: seq })
    .optional(),
  messages: AppendStepSchema,
});

export const time = z.number().int().nonnegative();
export const BeginTurnSchema = z.object({ turnId: IdSchema, conversationId: IdSchema, startedAt: time });
export const EndTurnSchema = z.object({
  status: z.enum(["completed", "error", "aborted", "interrupted"]),
  endedAt: time,
  usage: UsageSchema.optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
});

export const SavePermissionRequestSchema = z.object({
  requestId: IdSchema,
  conversationId: IdSchema,
  turnId: IdSchema,
  toolCallId: IdSchema,
  toolName: nonEmpty,
  input: z.unknown(),
  reason: z.string(),
  createdAt: time,
});

export const QueueMessageSchema = z.object({
  conversationId: IdSchema,
  messageId: IdSchema,
  text: nonEmpty,
  workspaceId: WorkspaceIdSchema.optional(),
  createdAt: time,
});

export const AppendOptionsSchema = z.strictObject({
  dequeue: z
    .array(IdSchema)
    .refine((ids) => new Set(ids).size === ids.length, "message ids must be distinct")
    .optional(),
  settleInflight: z.boolean().optional(),
  view: z.boolean().optional(),
});

export const InflightStepSchema = z.object({ turnId: IdSchema, stepId: IdSchema, messageId: IdSchema });
const ToolCallChunkSchema = ChunkSchema.refine((c) => c.type === "tool-call", "must be a tool-call chunk");
export const InflightPartsSchema = z.array(
  z.discriminatedUnion("kind", [
    z.object({ kind: z.enum(["text", "thinking"]), text: z.string() }),
    z.object({ kind: z.literal("tool-call"), chunk: ToolCallChunkSchema }),
    z.object({ kind: z.literal("tool-start"), toolCallId: IdSchema, runId: IdSchema }),
  ]),
);

export const WorkspaceInputSchema = z.object({
  id: WorkspaceIdSchema,
  title: z.string().optional(),
  defaultCwd: nonEmpty.optional(),
});
export const WorkspacePatchSchema = z.strictObject({
  title: z.string().optional(),
  defaultCwd: nonEmpty.nullable().optional(),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: StoreError };

/** Parses `input` with `schema`; a failure names `what` and the first offending field paths. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): Parsed<T> {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    error: { code: "STORE_INVALID_INPUT", message: `${what}: ${describeIssues(r.error)}` },
  };
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
