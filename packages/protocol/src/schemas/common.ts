import { z } from "zod";
import { MAX_ID_CHARS, MAX_IMAGE_URL_CHARS, MAX_IMAGES } from "../limits";

/** Metadata of a named schema: `id` becomes its `$defs` / `components.schemas` key. */
export interface SchemaMeta {
  id: string;
  description?: string;
}

/**
 * Every named protocol schema. Private to the package (not zod's global registry) so other packages'
 * schema ids can never collide with ours; the JSON Schema and OpenAPI exports are generated from it.
 */
export const protocolRegistry = z.registry<SchemaMeta>();

/** Registers `schema` under `id` and returns it unchanged. */
export function named<S extends z.ZodType>(schema: S, id: string, description?: string): S {
  protocolRegistry.add(schema, description === undefined ? { id } : { id, description });
  return schema;
}

const NON_EMPTY = "must be a non-empty string";

/** Inbound string: present, non-empty, at most `max` UTF-16 code units (too long → PROTOCOL_TOO_LARGE). */
export function boundedString(max: number) {
  return z
    .string({ error: NON_EMPTY })
    .min(1, { error: NON_EMPTY })
    .max(max, { error: `must be at most ${max} characters` });
}

/**
 * An absolute path (`/…`, or `C:\…` on Windows), at most `max` characters. A relative working
 * directory would resolve against the daemon's own cwd, which the client neither knows nor chose.
 */
export function absolutePath(max: number) {
  return boundedString(max).regex(/^(\/|[A-Za-z]:[\\/])/, { error: "must be an absolute path" });
}

/** Inbound identifier (ids of conversations, surfaces, actions, requests, messages, turns, workspaces). */
export const IdSchema = boundedString(MAX_ID_CHARS);

export const NonNegativeInt = z.int().min(0);
export const PositiveInt = z.int().min(1);
export const NonNegativeNumber = z.number().min(0);

export const ReasoningEffortSchema = named(
  z.enum(["low", "medium", "high", "xhigh", "max"]),
  "ReasoningEffort",
  "Reasoning effort requested from the model.",
);
export const ConversationStatusSchema = named(
  z.enum(["active", "queued", "idle", "closed"]),
  "ConversationStatus",
);
export const PermissionDecisionSchema = named(
  z.enum(["allow", "deny", "always"]),
  "PermissionDecision",
  "`always` allows and remembers the rule.",
);
export const DoneReasonSchema = named(
  z.enum([
    "stop",
    "tool-calls",
    "length",
    "content-filter",
    "max-steps",
    "error",
    "aborted",
    "interrupted",
    "other",
  ]),
  "DoneReason",
);
export const ToolOutputStreamSchema = z.enum(["stdout", "stderr"]);
export const RoleSchema = named(z.enum(["system", "user", "assistant", "tool"]), "Role");

export const UsageSchema = named(
  z.object({
    inputTokens: NonNegativeInt,
    outputTokens: NonNegativeInt,
    cacheReadTokens: NonNegativeInt.optional(),
    cacheWriteTokens: NonNegativeInt.optional(),
  }),
  "Usage",
);

export const ModelInfoSchema = named(
  z.object({ contextWindow: PositiveInt.optional(), vision: z.boolean().optional() }),
  "ModelInfo",
);

/** Inbound image attachment (capped). */
export const ImageAttachmentSchema = named(
  z.object({ url: boundedString(MAX_IMAGE_URL_CHARS), mimeType: IdSchema.optional() }),
  "ImageAttachment",
  "An image attached to a user message; `url` may be a data: URL.",
);
export const ImagesSchema = z
  .array(ImageAttachmentSchema)
  .max(MAX_IMAGES, { error: `must have at most ${MAX_IMAGES} items` });
