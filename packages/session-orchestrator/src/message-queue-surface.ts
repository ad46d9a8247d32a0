import type { Disposer } from "@dispatch/kernel";
import type { Field, QueuedMessage, SurfaceSpec } from "@dispatch/protocol/types";
import { SurfaceActionError, type SurfaceProvider, unknownAction } from "@dispatch/surface-registry/contract";
import { MESSAGE_QUEUE_SURFACE_ID } from "./contract";

const PREVIEW_CHARS = 120;
const CANCEL_PREFIX = "cancel:";

/** Pure: the action id of the cancel button of one queued message. */
export function cancelActionId(messageId: string): string {
  return CANCEL_PREFIX + messageId;
}

const previewOf = (text: string) => (text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text);

/** Pure: the `message-queue` spec of one conversation: a preview and a Cancel button per queued message. */
export function messageQueueSpec(queue: readonly QueuedMessage[], region: string): SurfaceSpec {
  const fields: Field[] =
    queue.length === 0
      ? [{ kind: "stat", label: "Queued messages", value: "none" }]
      : queue.flatMap((m, i): Field[] => [
          { kind: "stat", label: `Queued #${i + 1}`, value: previewOf(m.text) },
          { kind: "button", label: "Cancel", action: { actionId: cancelActionId(m.messageId) } },
        ]);
  return { id: MESSAGE_QUEUE_SURFACE_ID, region, title: "Queued messages", fields };
}

/** The queue of one conversation, for the global view. */
export interface ConversationQueue {
  conversationId: string;
  /** Shown instead of the id when known. */
  title?: string;
  queue: readonly QueuedMessage[];
}

/**
 * Pure: the global view (PROTOCOL.md §7): every queued message of every conversation, each naming its
 * conversation and cancellable by its button alone (the message id identifies it).
 */
export function globalMessageQueueSpec(queues: readonly ConversationQueue[], region: string): SurfaceSpec {
  const nonEmpty = queues.filter((q) => q.queue.length > 0);
  const fields: Field[] =
    nonEmpty.length === 0
      ? [{ kind: "stat", label: "Queued messages", value: "none" }]
      : nonEmpty.flatMap((q): Field[] =>
          q.queue.flatMap((m, i): Field[] => [
            { kind: "stat", label: `${q.title || q.conversationId} #${i + 1}`, value: previewOf(m.text) },
            { kind: "button", label: "Cancel", action: { actionId: cancelActionId(m.messageId) } },
          ]),
        );
  return { id: MESSAGE_QUEUE_SURFACE_ID, region, title: "Queued messages", fields };
}

export interface MessageQueueSource {
  queue(conversationId: string): QueuedMessage[];
  /** Every conversation with queued messages (titles included when known). */
  allQueues(): ConversationQueue[];
  cancelQueued(conversationId: string, messageId: string): { cancelled: boolean; queue: QueuedMessage[] };
  /** Called with a conversation id whenever its queue changes. */
  onQueueChanged(listener: (conversationId: string) => void): Disposer;
}

/**
 * The `message-queue` surface: with a `conversationId` that conversation's queue; without one (level-1
 * frontends) the global view of every conversation's queue. Actions: `cancel:<messageId>` (the
 * buttons; no conversation needed), or `cancel` with payload `{ messageId }`. Cancelling a message that
 * already left the queue fails with SURFACE_ACTION_FAILED naming it.
 */
export function messageQueueSurface(source: MessageQueueSource, region = "composer"): SurfaceProvider {
  return {
    catalogEntry: { id: MESSAGE_QUEUE_SURFACE_ID, region, title: "Queued messages", scope: "conversation" },
    getSpec: (ctx) =>
      ctx?.conversationId
        ? messageQueueSpec(source.queue(ctx.conversationId), region)
        : globalMessageQueueSpec(source.allQueues(), region),
    invoke(actionId, payload, ctx) {
      const messageId = actionId.startsWith(CANCEL_PREFIX)
        ? actionId.slice(CANCEL_PREFIX.length)
        : actionId === "cancel"
          ? payloadMessageId(payload)
          : undefined;
      if (messageId === undefined) throw unknownAction(actionId);
      const conversationId =
        ctx?.conversationId ??
        source.allQueues().find((q) => q.queue.some((m) => m.messageId === messageId))?.conversationId;
      const r = conversationId === undefined ? undefined : source.cancelQueued(conversationId, messageId);
      if (!r?.cancelled) {
        const where = conversationId === undefined ? "" : ` in conversation "${conversationId}"`;
        throw new SurfaceActionError(
          "SURFACE_ACTION_FAILED",
          `message "${messageId}" is not queued${where} (already delivered or cancelled)`,
        );
      }
      return { cancelled: true, queue: r.queue };
    },
    subscribe: (onChange) => source.onQueueChanged((conversationId) => onChange({ conversationId })),
  };
}

function payloadMessageId(payload: unknown): string {
  const id = (payload as { messageId?: unknown } | undefined)?.messageId;
  if (typeof id !== "string" || id === "") {
    throw new SurfaceActionError(
      "SURFACE_INVALID_PAYLOAD",
      'action "cancel" needs a payload { messageId: string }',
    );
  }
  return id;
}
