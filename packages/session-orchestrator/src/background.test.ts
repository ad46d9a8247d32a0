import { expect, test } from "bun:test";
import { createMemoryLogger } from "@dispatch/kernel";
import { BackgroundTasks } from "./background";

test("drain waits for every tracked promise, also one tracked while draining", async () => {
  const tasks = new BackgroundTasks(createMemoryLogger());
  const order: string[] = [];
  let finishFirst: () => void = () => {};
  const first = new Promise<void>((r) => {
    finishFirst = r;
  }).then(() => {
    order.push("first");
    // A turn that ends may start the next one (the carry): it is tracked while shutdown drains.
    tasks.track(Promise.resolve().then(() => order.push("second")));
  });
  tasks.track(first);
  const drained = tasks.drain().then(() => order.push("drained"));
  finishFirst();
  await drained;
  expect(order).toEqual(["first", "second", "drained"]);
});

test("a rejected task is logged, never unhandled; stop only flips stopping", async () => {
  const logger = createMemoryLogger();
  const tasks = new BackgroundTasks(logger);
  expect(tasks.stopping).toBe(false);
  tasks.track(Promise.reject(new Error("boom")));
  tasks.stop();
  expect(tasks.stopping).toBe(true);
  await tasks.drain();
  expect(logger.records).toEqual([
    { level: "error", msg: "background task failed", fields: { error: "boom" } },
  ]);
});
