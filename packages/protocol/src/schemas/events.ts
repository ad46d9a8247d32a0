import { z } from "zod";
import {
  ConversationStatusSchema,
  DoneReasonSchema,
  NonNegativeInt,
  NonNegativeNumber,
  named,
  PermissionDecisionSchema,
  PositiveInt,
  ToolOutputStreamSchema,
  UsageSchema,
} from "./common";

/** Every event except `status` carries both ids. */
const turn = { conversationId: z.string(), turnId: z.string() };

export const UserMessageEventSchema = named(
  z.object({ type: z.literal("user-message"), ...turn, text: z.string() }),
  "UserMessageEvent",
  "First event of a turn, so late joiners see the prompt.",
);
export const TurnStartEventSchema = named(
  z.object({ type: z.literal("turn-start"), ...turn }),
  "TurnStartEvent",
);
export const TextDeltaEventSchema = named(
  z.object({ type: z.literal("text-delta"), ...turn, delta: z.string() }),
  "TextDeltaEvent",
);
export const ReasoningDeltaEventSchema = named(
  z.object({ type: z.literal("reasoning-delta"), ...turn, delta: z.string() }),
  "ReasoningDeltaEvent",
);
export const ToolCallEventSchema = named(
  z.object({
    type: z.literal("tool-call"),
    ...turn,
    stepId: z.string().optional(),
    toolCallId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
  }),
  "ToolCallEvent",
);
export const ToolOutputEventSchema = named(
  z.object({
    type: z.literal("tool-output"),
    ...turn,
    toolCallId: z.string(),
    data: z.string(),
    stream: ToolOutputStreamSchema,
  }),
  "ToolOutputEvent",
);
export const ToolResultEventSchema = named(
  z.object({
    type: z.literal("tool-result"),
    ...turn,
    stepId: z.string().optional(),
    toolCallId: z.string(),
    toolName: z.string(),
    content: z.string(),
    isError: z.boolean(),
    durationMs: NonNegativeNumber.optional(),
  }),
  "ToolResultEvent",
);
export const PermissionRequestEventSchema = named(
  z.object({
    type: z.literal("permission-request"),
    ...turn,
    requestId: z.string(),
    toolCallId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
    reason: z.string(),
  }),
  "PermissionRequestEvent",
  "(ext) A tool call waits for the user's decision; answer with chat.permission.",
);
export const PermissionResolvedEventSchema = named(
  z.object({
    type: z.literal("permission-resolved"),
    ...turn,
    requestId: z.string(),
    decision: PermissionDecisionSchema,
  }),
  "PermissionResolvedEvent",
);
export const UsageEventSchema = named(
  z.object({ type: z.literal("usage"), ...turn, usage: UsageSchema, stepId: z.string().optional() }),
  "UsageEvent",
);
export const StepCompleteEventSchema = named(
  z.object({
    type: z.literal("step-complete"),
    ...turn,
    stepId: z.string(),
    ttftMs: NonNegativeNumber.optional(),
    decodeMs: NonNegativeNumber.optional(),
    genTotalMs: NonNegativeNumber.optional(),
  }),
  "StepCompleteEvent",
);
export const SteeringEventSchema = named(
  z.object({ type: z.literal("steering"), ...turn, text: z.string() }),
  "SteeringEvent",
  "Queued messages delivered mid-turn.",
);
export const ProviderRetryEventSchema = named(
  z.object({
    type: z.literal("provider-retry"),
    ...turn,
    attempt: PositiveInt,
    delayMs: NonNegativeNumber,
    message: z.string(),
    code: z.string().optional(),
  }),
  "ProviderRetryEvent",
  "Transient, not persisted.",
);
export const ErrorEventSchema = named(
  z.object({ type: z.literal("error"), ...turn, message: z.string(), code: z.string().optional() }),
  "ErrorEvent",
);
export const DoneEventSchema = named(
  z.object({
    type: z.literal("done"),
    ...turn,
    reason: DoneReasonSchema,
    durationMs: NonNegativeNumber.optional(),
    usage: UsageSchema.optional(),
    contextSize: NonNegativeInt.optional(),
  }),
  "DoneEvent",
  "Always followed by turn-sealed.",
);
export const TurnSealedEventSchema = named(
  z.object({ type: z.literal("turn-sealed"), ...turn }),
  "TurnSealedEvent",
  "The turn is fully persisted; history is final.",
);
export const StatusEventSchema = named(
  z.object({ type: z.literal("status"), conversationId: z.string(), status: ConversationStatusSchema }),
  "StatusEvent",
  "The only event without turnId.",
);

export const AgentEventSchema = named(
  z.discriminatedUnion("type", [
    UserMessageEventSchema,
    TurnStartEventSchema,
    TextDeltaEventSchema,
    ReasoningDeltaEventSchema,
    ToolCallEventSchema,
    ToolOutputEventSchema,
    ToolResultEventSchema,
    PermissionRequestEventSchema,
    PermissionResolvedEventSchema,
    UsageEventSchema,
    StepCompleteEventSchema,
    SteeringEventSchema,
    ProviderRetryEventSchema,
    ErrorEventSchema,
    DoneEventSchema,
    TurnSealedEventSchema,
    StatusEventSchema,
  ]),
  "AgentEvent",
  "Payload of chat.delta and the lines of the POST /chat NDJSON stream.",
);
