import type { Disposer } from "@dispatch/kernel";
import type { Field, QueuedMessage, SurfaceSpec } from "@dispatch/protocol/types";
import { SurfaceActionError, type SurfaceProvider, unknownAction } from "@dispatch/surface-registry";
import { MESSAGE_QUEUE_SURFACE_ID } from "./contract";

const PREVIEW_CHARS = 120;
const CANCEL_PREFIX = "cancel:";

/** Pure: the action id of the cancel button of one queued message. */
export function cancelActionId(messageId: string): string {
  return CANCEL_PREFIX + messageId;
}

/** Pure: the `message-queue` spec of one conversation: a preview and a Cancel button per queued message. */
export function messageQueueSpec(queue: readonly QueuedMessage[], region: string): SurfaceSpec {
  const fields: Field[] =
    queue.length === 0
      ? [{ kind: "stat", label: "Queued messages", value: "none" }]
      : queue.flatMap((m, i): Field[] => [
          {
            kind: "stat",
            label: `Queued #${i + 1}`,
            value: m.text.length > PREVIEW_CHARS ? `${m.text.slice(0, PREVIEW_CHARS)}…` : m.text,
          },
          { kind: "button", label: "Cancel", action: { actionId: cancelActionId(m.messageId) } },
        ]);
  return { id: MESSAGE_QUEUE_SURFACE_ID, region, title: "Queued messages", fields };
}

export interface MessageQueueSource {
  queue(conversationId: string): QueuedMessage[];
  cancelQueued(conversationId: string, messageId: string): { cancelled: boolean; queue: QueuedMessage[] };
  /** Called with a conversation id whenever its queue changes. */
  onQueueChanged(listener: (conversationId: string) => void): Disposer;
}

/**
 * The per-conversation `message-queue` surface. Actions: `cancel:<messageId>` (the buttons), or `cancel`
 * with payload `{ messageId }`. Cancelling a message that already left the queue fails with
 * SURFACE_ACTION_FAILED naming it.
 */
export function messageQueueSurface(source: MessageQueueSource, region = "composer"): SurfaceProvider {
  return {
    catalogEntry: { id: MESSAGE_QUEUE_SURFACE_ID, region, title: "Queued messages", scope: "conversation" },
    getSpec: (ctx) => messageQueueSpec(ctx?.conversationId ? source.queue(ctx.conversationId) : [], region),
    invoke(actionId, payload, ctx) {
      const messageId = actionId.startsWith(CANCEL_PREFIX)
        ? actionId.slice(CANCEL_PREFIX.length)
        : actionId === "cancel"
          ? payloadMessageId(payload)
          : undefined;
      if (messageId === undefined) throw unknownAction(actionId);
      const conversationId = ctx?.conversationId;
      if (!conversationId) {
        throw new SurfaceActionError(
          "SURFACE_INVALID_PAYLOAD",
          "message-queue actions need a conversationId",
        );
      }
      const r = source.cancelQueued(conversationId, messageId);
      if (!r.cancelled) {
        throw new SurfaceActionError(
          "SURFACE_ACTION_FAILED",
          `message "${messageId}" is not queued in conversation "${conversationId}" (already delivered or cancelled)`,
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
