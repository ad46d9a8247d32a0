import { describe, expect, test } from "bun:test";
import { dispatchInOrder } from "./tool-dispatch";

interface Item {
  id: string;
  exclusive?: boolean;
}

/** Runs items that finish only when the test releases them; records start order and concurrency. */
function harness() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  let active = 0;
  let maxActive = 0;
  const waiters: (() => void)[] = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  const run = (item: Item) =>
    new Promise<string>((resolve) => {
      started.push(item.id);
      active++;
      maxActive = Math.max(maxActive, active);
      gates.set(item.id, () => {
        active--;
        resolve(`result:${item.id}`);
      });
      notify();
    });
  const waitStarted = async (count: number) => {
    const deadline = Date.now() + 5000;
    while (started.length < count) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${count} started items (have ${started})`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  const release = (id: string) => {
    const g = gates.get(id);
    if (!g) throw new Error(`item ${id} has not started`);
    g();
  };
  return { run, started, waitStarted, release, maxActive: () => maxActive, active: () => active };
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("dispatchInOrder", () => {
  test("respects the concurrency limit and returns results in call order", async () => {
    const h = harness();
    const items: Item[] = [{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }];
    const done = dispatchInOrder(items, { concurrency: 2, isExclusive: (i) => !!i.exclusive }, h.run);
    await h.waitStarted(2);
    await flush();
    expect(h.started).toEqual(["a", "b"]);
    h.release("b");
    await h.waitStarted(3);
    h.release("c");
    await h.waitStarted(4);
    h.release("d");
    h.release("a");
    expect(await done).toEqual(["result:a", "result:b", "result:c", "result:d"]);
    expect(h.maxActive()).toBe(2);
  });

  test("an exclusive item waits for running items and runs alone", async () => {
    const h = harness();
    const items: Item[] = [{ id: "a" }, { id: "x", exclusive: true }, { id: "b" }];
    const done = dispatchInOrder(items, { concurrency: 4, isExclusive: (i) => !!i.exclusive }, h.run);
    await h.waitStarted(1);
    await flush();
    expect(h.started).toEqual(["a"]);
    h.release("a");
    await h.waitStarted(2);
    await flush();
    expect(h.started).toEqual(["a", "x"]);
    expect(h.active()).toBe(1);
    h.release("x");
    await h.waitStarted(3);
    h.release("b");
    expect(await done).toEqual(["result:a", "result:x", "result:b"]);
  });

  test("identical items each run once (never merged)", async () => {
    let runs = 0;
    const items = [{ id: "same" }, { id: "same" }, { id: "same" }];
    const out = await dispatchInOrder(
      items,
      { concurrency: 3, isExclusive: () => false },
      async () => ++runs,
    );
    expect(runs).toBe(3);
    expect(out.sort()).toEqual([1, 2, 3]);
  });

  test("a rejecting run does not stop the others; the first rejection is rethrown at the end", async () => {
    const ran: number[] = [];
    const p = dispatchInOrder([0, 1, 2], { concurrency: 1, isExclusive: () => false }, async (i) => {
      ran.push(i);
      if (i === 1) throw new Error("bad item");
      return i;
    });
    await expect(p).rejects.toThrow("bad item");
    expect(ran).toEqual([0, 1, 2]);
  });
});
