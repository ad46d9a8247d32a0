import { describe, expect, test } from "bun:test";
import type { QueuedMessage } from "@dispatch/protocol/types";
import {
  type ConversationQueue,
  cancelActionId,
  globalMessageQueueSpec,
  type MessageQueueSource,
  messageQueueSurface,
} from "./message-queue-surface";

/** A queue source over plain arrays (implements the surface's contract). */
class ArrayQueues implements MessageQueueSource {
  constructor(readonly queues: Map<string, QueuedMessage[]>) {}
  queue(conversationId: string): QueuedMessage[] {
    return [...(this.queues.get(conversationId) ?? [])];
  }
  allQueues(): ConversationQueue[] {
    return [...this.queues].map(([conversationId, queue]) => ({
      conversationId,
      title: `T-${conversationId}`,
      queue,
    }));
  }
  cancelQueued(conversationId: string, messageId: string) {
    const q = this.queues.get(conversationId) ?? [];
    const i = q.findIndex((m) => m.messageId === messageId);
    if (i >= 0) q.splice(i, 1);
    return { cancelled: i >= 0, queue: [...q] };
  }
  onQueueChanged() {
    return () => {};
  }
}

const msg = (messageId: string, text: string): QueuedMessage => ({ messageId, text, createdAt: 1 });

describe("message-queue global view", () => {
  test("lists every conversation's queued messages, each naming its conversation, with a cancel button", () => {
    const spec = globalMessageQueueSpec(
      [
        { conversationId: "a", title: "Alpha", queue: [msg("m1", "one"), msg("m2", "two")] },
        { conversationId: "b", queue: [msg("m3", "three")] },
        { conversationId: "c", queue: [] },
      ],
      "composer",
    );
    expect(spec.fields).toEqual([
      { kind: "stat", label: "Alpha #1", value: "one" },
      { kind: "button", label: "Cancel", action: { actionId: cancelActionId("m1") } },
      { kind: "stat", label: "Alpha #2", value: "two" },
      { kind: "button", label: "Cancel", action: { actionId: cancelActionId("m2") } },
      { kind: "stat", label: "b #1", value: "three" },
      { kind: "button", label: "Cancel", action: { actionId: cancelActionId("m3") } },
    ]);
    expect(globalMessageQueueSpec([], "composer").fields).toEqual([
      { kind: "stat", label: "Queued messages", value: "none" },
    ]);
  });

  test("a cancel button works without a conversationId; a message already gone fails naming it", async () => {
    const source = new ArrayQueues(
      new Map([
        ["a", [msg("m1", "one")]],
        ["b", [msg("m2", "two")]],
      ]),
    );
    const surface = messageQueueSurface(source);
    expect(await surface.invoke(cancelActionId("m2"))).toEqual({ cancelled: true, queue: [] });
    expect(source.queue("b")).toEqual([]);
    expect(source.queue("a")).toHaveLength(1);
    expect(() => surface.invoke(cancelActionId("m2"))).toThrow('message "m2" is not queued');
    const spec = await surface.getSpec();
    expect(spec.fields.map((f) => f.kind === "stat" && f.label)).toEqual(["T-a #1", false]);
  });
});
