import { z } from "zod";
import type { ServerMessageOf, ServerMessageType } from "../types";
import { ConversationStatusSchema, NonNegativeInt, named, PositiveInt } from "./common";
import { AgentEventSchema } from "./events";
import { CatalogEntrySchema, SurfaceSpecSchema, SurfaceUpdateSchema } from "./surfaces";

export const CatalogMessageSchema = named(
  z.object({ type: z.literal("catalog"), catalog: z.array(CatalogEntrySchema) }),
  "CatalogMessage",
  "First frame on every connection, and again whenever the set of surfaces changes.",
);
export const SurfaceMessageSchema = named(
  z.object({ type: z.literal("surface"), spec: SurfaceSpecSchema, conversationId: z.string().optional() }),
  "SurfaceMessage",
);
export const UpdateMessageSchema = named(
  z.object({ type: z.literal("update"), update: SurfaceUpdateSchema }),
  "UpdateMessage",
);
export const ErrorMessageSchema = named(
  z.object({
    type: z.literal("error"),
    surfaceId: z.string().optional(),
    message: z.string(),
    replyTo: z.string().optional(),
    code: z.string().optional(),
  }),
  "ErrorMessage",
  "Errors of non-chat ops. `code` (ext) is a stable machine-readable code.",
);
export const ChatDeltaMessageSchema = named(
  z.object({ type: z.literal("chat.delta"), event: AgentEventSchema, n: PositiveInt.optional() }),
  "ChatDeltaMessage",
  "`n` (ext) = 1-based index of the event within its turn, for resume.",
);
export const ChatBatchMessageSchema = named(
  z.object({
    type: z.literal("chat.batch"),
    events: z.array(z.object({ event: AgentEventSchema, n: PositiveInt.optional() })),
  }),
  "ChatBatchMessage",
  "(ext) Consecutive events of one turn within the batchMs window asked for in hello.",
);
export const ChatErrorMessageSchema = named(
  z.object({
    type: z.literal("chat.error"),
    conversationId: z.string().optional(),
    message: z.string(),
    replyTo: z.string().optional(),
    code: z.string().optional(),
  }),
  "ChatErrorMessage",
  "Errors of chat ops. `code` (ext) is a stable machine-readable code.",
);
export const ConversationOpenMessageSchema = named(
  z.object({ type: z.literal("conversation.open"), conversationId: z.string(), workspaceId: z.string() }),
  "ConversationOpenMessage",
);
export const ConversationStatusChangedMessageSchema = named(
  z.object({
    type: z.literal("conversation.statusChanged"),
    conversationId: z.string(),
    status: ConversationStatusSchema,
    workspaceId: z.string(),
  }),
  "ConversationStatusChangedMessage",
);
export const ConversationCompactedMessageSchema = named(
  z.object({
    type: z.literal("conversation.compacted"),
    conversationId: z.string(),
    newConversationId: z.string(),
    messagesSummarized: NonNegativeInt,
    messagesKept: NonNegativeInt,
  }),
  "ConversationCompactedMessage",
);
export const ConversationPresenceMessageSchema = named(
  z.object({
    type: z.literal("conversation.presence"),
    conversationId: z.string(),
    watchers: NonNegativeInt,
    viewers: NonNegativeInt.optional(),
    owner: z.enum(["online", "offline"]).optional(),
  }),
  "ConversationPresenceMessage",
);
export const AckMessageSchema = named(
  z.object({ type: z.literal("ack"), replyTo: z.string() }),
  "AckMessage",
);
export const PongMessageSchema = named(z.object({ type: z.literal("pong") }), "PongMessage");
export const HelloReplyMessageSchema = named(
  z.object({
    type: z.literal("hello"),
    protocol: PositiveInt,
    server: z.object({ name: z.string(), version: z.string() }),
    features: z.array(z.string()),
    share: z.object({ shareId: z.string(), conversationId: z.string() }).optional(),
  }),
  "HelloReplyMessage",
  "(ext) The answer to hello: the protocol level the connection now speaks.",
);

export const serverMessageSchemas = {
  catalog: CatalogMessageSchema,
  surface: SurfaceMessageSchema,
  update: UpdateMessageSchema,
  error: ErrorMessageSchema,
  "chat.delta": ChatDeltaMessageSchema,
  "chat.batch": ChatBatchMessageSchema,
  "chat.error": ChatErrorMessageSchema,
  "conversation.open": ConversationOpenMessageSchema,
  "conversation.statusChanged": ConversationStatusChangedMessageSchema,
  "conversation.compacted": ConversationCompactedMessageSchema,
  "conversation.presence": ConversationPresenceMessageSchema,
  ack: AckMessageSchema,
  pong: PongMessageSchema,
  hello: HelloReplyMessageSchema,
} as const satisfies { [K in ServerMessageType]: z.ZodType<ServerMessageOf<K>> };

export const ServerMessageSchema = named(
  z.discriminatedUnion("type", [
    CatalogMessageSchema,
    SurfaceMessageSchema,
    UpdateMessageSchema,
    ErrorMessageSchema,
    ChatDeltaMessageSchema,
    ChatBatchMessageSchema,
    ChatErrorMessageSchema,
    ConversationOpenMessageSchema,
    ConversationStatusChangedMessageSchema,
    ConversationCompactedMessageSchema,
    ConversationPresenceMessageSchema,
    AckMessageSchema,
    PongMessageSchema,
    HelloReplyMessageSchema,
  ]),
  "ServerMessage",
  "Every frame the server sends. Clients ignore fields they don't know.",
);
