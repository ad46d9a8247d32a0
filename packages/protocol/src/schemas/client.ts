import { z } from "zod";
import { MAX_BATCH_MS, MAX_ID_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS } from "../limits";
import type { AccessRequirement, ClientMessageOf, ClientMessageType } from "../types";
import {
  absolutePath,
  boundedString,
  IdSchema,
  ImagesSchema,
  NonNegativeInt,
  named,
  PermissionDecisionSchema,
  PositiveInt,
  ReasoningEffortSchema,
} from "./common";

/** (ext) Optional correlation id: the server answers with one `ack` or error carrying `replyTo: id`. */
const base = { id: IdSchema.optional() };

/** Fields shared by `chat.send` and `POST /chat` (both start a turn). */
export const turnRequestFields = {
  conversationId: IdSchema.optional(),
  // Whitespace alone is no message (the orchestrator refuses it too; the schema says so up front).
  message: boundedString(MAX_MESSAGE_CHARS).regex(/\S/, { error: "must contain a non-whitespace character" }),
  model: boundedString(MAX_NAME_CHARS).optional(),
  cwd: absolutePath(MAX_PATH_CHARS).optional(),
  reasoningEffort: ReasoningEffortSchema.optional(),
  workspaceId: IdSchema.optional(),
  images: ImagesSchema.optional(),
  grant: z
    .object({
      tools: z.array(boundedString(MAX_NAME_CHARS)).max(64).optional(),
      all: z.boolean().optional(),
    })
    .optional(),
};

export const SubscribeMessageSchema = named(
  z.object({
    type: z.literal("subscribe"),
    ...base,
    surfaceId: IdSchema,
    conversationId: IdSchema.optional(),
  }),
  "SubscribeMessage",
  "Replies surface with the current spec, then update on every change.",
);
export const UnsubscribeMessageSchema = named(
  z.object({
    type: z.literal("unsubscribe"),
    ...base,
    surfaceId: IdSchema,
    conversationId: IdSchema.optional(),
  }),
  "UnsubscribeMessage",
);
export const InvokeMessageSchema = named(
  z.object({
    type: z.literal("invoke"),
    ...base,
    surfaceId: IdSchema,
    actionId: IdSchema,
    payload: z.unknown().optional(),
    conversationId: IdSchema.optional(),
  }),
  "InvokeMessage",
);
export const ChatSendMessageSchema = named(
  z.object({
    type: z.literal("chat.send"),
    ...base,
    ...turnRequestFields,
    computerId: IdSchema.optional(),
  }),
  "ChatSendMessage",
  "Starts a turn; without conversationId the server mints one.",
);
export const ResumePointSchema = named(z.object({ turnId: IdSchema, n: NonNegativeInt }), "ResumePoint");
export const ChatSubscribeMessageSchema = named(
  z.object({
    type: z.literal("chat.subscribe"),
    ...base,
    conversationId: IdSchema,
    resume: ResumePointSchema.optional(),
  }),
  "ChatSubscribeMessage",
);
export const ChatUnsubscribeMessageSchema = named(
  z.object({ type: z.literal("chat.unsubscribe"), ...base, conversationId: IdSchema }),
  "ChatUnsubscribeMessage",
);
export const ChatQueueMessageSchema = named(
  z.object({
    type: z.literal("chat.queue"),
    ...base,
    conversationId: IdSchema,
    text: turnRequestFields.message,
    workspaceId: IdSchema.optional(),
  }),
  "ChatQueueMessage",
);
export const ChatQueueCancelMessageSchema = named(
  z.object({ type: z.literal("chat.queue.cancel"), ...base, conversationId: IdSchema, messageId: IdSchema }),
  "ChatQueueCancelMessage",
);
export const ChatStopMessageSchema = named(
  z.object({ type: z.literal("chat.stop"), ...base, conversationId: IdSchema }),
  "ChatStopMessage",
);
export const ChatPermissionMessageSchema = named(
  z.object({
    type: z.literal("chat.permission"),
    ...base,
    conversationId: IdSchema,
    requestId: IdSchema,
    decision: PermissionDecisionSchema,
  }),
  "ChatPermissionMessage",
);
export const PingMessageSchema = named(z.object({ type: z.literal("ping"), ...base }), "PingMessage");
export const HelloMessageSchema = named(
  z.object({
    type: z.literal("hello"),
    ...base,
    protocol: PositiveInt,
    client: z
      .object({ name: boundedString(MAX_NAME_CHARS), version: boundedString(MAX_NAME_CHARS) })
      .optional(),
    batchMs: z.int().min(0).max(MAX_BATCH_MS).optional(),
  }),
  "HelloMessage",
  "(ext) Asks for protocol level `protocol` (2); the first message of a connection, at most once.",
);

/** Longest channel string (`workspace:<id>:*` with the longest id). */
const MAX_CHANNEL_FIELD_CHARS = MAX_ID_CHARS + 16;
/** Most conversations one `resume` map names. */
export const MAX_RESUME_ENTRIES = 1000;
export const ChannelResumeSchema = z
  .record(IdSchema, ResumePointSchema)
  .refine((r) => Object.keys(r).length <= MAX_RESUME_ENTRIES, {
    error: `names at most ${MAX_RESUME_ENTRIES} conversations`,
  });
export const ChannelSubscribeMessageSchema = named(
  z.object({
    type: z.literal("channel.subscribe"),
    ...base,
    channel: boundedString(MAX_CHANNEL_FIELD_CHARS),
    resume: ChannelResumeSchema.optional(),
  }),
  "ChannelSubscribeMessage",
  "(ext) Watch a channel: conversation:<id>, conversation:* or workspace:<workspaceId>:*.",
);
export const ChannelUnsubscribeMessageSchema = named(
  z.object({
    type: z.literal("channel.unsubscribe"),
    ...base,
    channel: boundedString(MAX_CHANNEL_FIELD_CHARS),
  }),
  "ChannelUnsubscribeMessage",
);

/** Schema of each client message, by `type` (what `parseClientMessage` dispatches on). */
export const clientMessageSchemas = {
  subscribe: SubscribeMessageSchema,
  unsubscribe: UnsubscribeMessageSchema,
  invoke: InvokeMessageSchema,
  "chat.send": ChatSendMessageSchema,
  "chat.subscribe": ChatSubscribeMessageSchema,
  "chat.unsubscribe": ChatUnsubscribeMessageSchema,
  "chat.queue": ChatQueueMessageSchema,
  "chat.queue.cancel": ChatQueueCancelMessageSchema,
  "chat.stop": ChatStopMessageSchema,
  "chat.permission": ChatPermissionMessageSchema,
  ping: PingMessageSchema,
  hello: HelloMessageSchema,
  "channel.subscribe": ChannelSubscribeMessageSchema,
  "channel.unsubscribe": ChannelUnsubscribeMessageSchema,
} as const satisfies { [K in ClientMessageType]: z.ZodType<ClientMessageOf<K>> };

/**
 * Who may send each message (PROTOCOL.md §8), beside its schema so a new message is declared in one
 * place (the compiler asks for its entry). A share viewer greets, pings and watches its conversation.
 */
export const clientMessageRequirements = {
  hello: "anyone",
  ping: "anyone",
  "chat.subscribe": "conversation",
  "chat.unsubscribe": "conversation",
  "channel.subscribe": "conversation",
  "channel.unsubscribe": "conversation",
  subscribe: "owner",
  unsubscribe: "owner",
  invoke: "owner",
  "chat.send": "owner",
  "chat.queue": "owner",
  "chat.queue.cancel": "owner",
  "chat.stop": "owner",
  "chat.permission": "owner",
} as const satisfies { [K in ClientMessageType]: AccessRequirement };

export const ClientMessageSchema = named(
  z.discriminatedUnion("type", [
    SubscribeMessageSchema,
    UnsubscribeMessageSchema,
    InvokeMessageSchema,
    ChatSendMessageSchema,
    ChatSubscribeMessageSchema,
    ChatUnsubscribeMessageSchema,
    ChatQueueMessageSchema,
    ChatQueueCancelMessageSchema,
    ChatStopMessageSchema,
    ChatPermissionMessageSchema,
    PingMessageSchema,
    HelloMessageSchema,
    ChannelSubscribeMessageSchema,
    ChannelUnsubscribeMessageSchema,
  ]),
  "ClientMessage",
  "Every frame a client sends. Unknown fields are ignored.",
);
