import { expect, test } from "bun:test";
import { openConversationStore } from "@dispatch/conversation-store";
import { createMemoryLogger } from "@dispatch/kernel";
import { ConversationStates } from "./conversation-states";
import { storesOf } from "./stores";

test("idle conversations beyond the retention bound are forgotten, busy ones never", () => {
  const store = openConversationStore({ path: ":memory:" });
  try {
    const states = new ConversationStates({
      store: storesOf(store),
      logger: createMemoryLogger(),
      emit: () => {},
      replayBufferLimit: 10,
    });
    const watched = states.ensure("watched");
    watched.hub.subscribe(() => {});
    const queued = states.ensure("queued");
    queued.queue.add({ messageId: "m", text: "t", createdAt: 0 });
    for (let i = 0; i < 600; i++) states.ensure(`idle-${i}`);
    const kept = [...states.values()].map((s) => s.id);
    expect(kept.length).toBeLessThanOrEqual(257);
    expect(kept).toContain("watched");
    expect(kept).toContain("queued");
    expect(kept).toContain("idle-599");
    expect(kept).not.toContain("idle-0");
  } finally {
    store.close();
  }
});
