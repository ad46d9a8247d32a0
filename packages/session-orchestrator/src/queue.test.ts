import { describe, expect, test } from "bun:test";
import { joinQueued, MessageQueue } from "./queue";
import { deriveStatus } from "./status";

describe("MessageQueue", () => {
  test("keeps arrival order, cancels by id, removes delivered ids", () => {
    const q = new MessageQueue();
    q.add({ messageId: "a", text: "one", createdAt: 1 });
    q.add({ messageId: "b", text: "two", createdAt: 2 });
    q.add({ messageId: "c", text: "three", createdAt: 3 });
    q.add({ messageId: "d", text: "four", createdAt: 4 });
    expect(q.cancel("b")).toBe(true);
    expect(q.cancel("b")).toBe(false);
    expect(q.has("b")).toBe(false);
    expect(q.has("c")).toBe(true);
    expect(q.list().map((m) => m.messageId)).toEqual(["a", "c", "d"]);
    expect(joinQueued(q.list())).toBe("one\n\nthree\n\nfour");
    q.remove(["a", "d"]);
    expect(q.list().map((m) => m.messageId)).toEqual(["c"]);
    q.clear();
    expect(q.size).toBe(0);
  });

  test("list returns copies", () => {
    const q = new MessageQueue();
    q.add({ messageId: "a", text: "one", createdAt: 1 });
    const l = q.list();
    l[0]!.text = "changed";
    expect(q.list()[0]!.text).toBe("one");
  });
});

describe("deriveStatus", () => {
  test("closed wins, running+queue is queued, running is active, else idle", () => {
    expect(deriveStatus({ closed: true, running: true, queued: 2 })).toBe("closed");
    expect(deriveStatus({ closed: false, running: true, queued: 1 })).toBe("queued");
    expect(deriveStatus({ closed: false, running: true, queued: 0 })).toBe("active");
    expect(deriveStatus({ closed: false, running: false, queued: 0 })).toBe("idle");
    expect(deriveStatus({ closed: false, running: false, queued: 3 })).toBe("idle");
  });
});
