import { describe, expect, test } from "bun:test";
import {
  defineEvent,
  defineService,
  type Extension,
  type ExtensionContext,
  type ServiceHandle,
} from "./contract";
import { createHost } from "./host";
import { createMemoryLogger } from "./logger";

const Said = defineEvent<string>("test.said");

function ext(id: string, activate: (ctx: ExtensionContext) => void): Extension {
  return { manifest: { id, version: "1.0.0" }, activate };
}

describe("events", () => {
  test("handlers run in registration order; a throwing handler is logged with its extension id", async () => {
    const log: string[] = [];
    const logger = createMemoryLogger();
    await using host = createHost({
      logger,
      extensions: [
        ext("first", (ctx) => {
          ctx.on(Said, (p) => log.push(`first ${p}`));
        }),
        ext("broken", (ctx) => {
          ctx.on(Said, () => {
            throw new Error("handler broke");
          });
        }),
        ext("last", (ctx) => {
          ctx.on(Said, (p) => log.push(`last ${p}`));
        }),
      ],
    });
    await host.start();
    host.on(Said, (p) => log.push(`host ${p}`));
    expect(() => host.emit(Said, "hi")).not.toThrow();
    expect(log).toEqual(["first hi", "last hi", "host hi"]);
    expect(logger.records).toContainEqual({
      level: "error",
      msg: "event handler threw",
      fields: { ext: "broken", event: "test.said", error: "handler broke" },
    });
  });

  test("a rejecting async handler is logged, not unhandled", async () => {
    const logger = createMemoryLogger();
    let rejected: () => void = () => {};
    const logged = new Promise<void>((resolve) => {
      rejected = resolve;
    });
    await using host = createHost({
      logger,
      extensions: [
        ext("async", (ctx) => {
          ctx.on(Said, async () => {
            await Promise.resolve();
            queueMicrotask(rejected);
            throw new Error("async broke");
          });
        }),
      ],
    });
    await host.start();
    host.emit(Said, "x");
    await logged;
    await Promise.resolve();
    expect(logger.records.some((r) => r.fields.ext === "async" && r.fields.error === "async broke")).toBe(
      true,
    );
  });

  test("a handler disposed by an earlier handler during emit is not called; disposers are idempotent", async () => {
    const log: string[] = [];
    await using host = createHost({ extensions: [] });
    await host.start();
    let offSecond: () => void | Promise<void> = () => {};
    const offFirst = host.on(Said, () => {
      log.push("first");
      offSecond();
    });
    offSecond = host.on(Said, () => log.push("second"));
    host.emit(Said, "a");
    offFirst();
    offFirst();
    host.emit(Said, "b");
    expect(log).toEqual(["first"]);
  });

  test("an extension's handlers go away with its scope", async () => {
    const log: string[] = [];
    const host = createHost({ extensions: [ext("a", (ctx) => void ctx.on(Said, (p) => log.push(p)))] });
    await host.start();
    host.emit(Said, "before");
    await host.stop();
    host.emit(Said, "after");
    expect(log).toEqual(["before"]);
  });
});

test("handle identity: a second definition with the same id is a different channel", async () => {
  await using host = createHost({ extensions: [] });
  await host.start();
  const heard: string[] = [];
  host.on(Said, (p) => heard.push(p));
  host.emit(defineEvent<string>("test.said"), "other");
  expect(heard).toEqual([]);
  expect(Object.isFrozen(Said)).toBe(true);
});

test("a look-alike object is not a handle (type level), and handles are frozen", () => {
  // @ts-expect-error only defineService makes a ServiceHandle
  const fake: ServiceHandle<number> = { kind: "service", id: "test/fake" };
  const real: ServiceHandle<number> = defineService<number>("test/fake");
  // @ts-expect-error an event handle is not a service handle
  const wrongKind: ServiceHandle<string> = Said;
  expect([fake.id, real.id, wrongKind.id]).toEqual(["test/fake", "test/fake", "test.said"]);
  expect(Object.isFrozen(real)).toBe(true);
});
