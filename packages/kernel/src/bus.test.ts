import { describe, expect, test } from "bun:test";
import {
  defineEvent,
  defineFilter,
  defineService,
  type Extension,
  type ExtensionContext,
  type FilterHandle,
  type ServiceHandle,
} from "./contract";
import { createHost } from "./host";
import { createMemoryLogger } from "./logger";

const Said = defineEvent<string>("test.said");
const Title = defineFilter<string>("test.title");

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

describe("filters", () => {
  test("run by priority (lower first), then registration order, threading the value", async () => {
    await using host = createHost({
      extensions: [
        ext("a", (ctx) => {
          ctx.addFilter(Title, (v) => `${v}>a0`);
          ctx.addFilter(Title, (v) => `${v}>a-5`, { priority: -5 });
        }),
        ext("b", (ctx) => {
          ctx.addFilter(Title, (v) => `${v}>b0`);
          ctx.addFilter(Title, (v) => `${v}>b10`, { priority: 10 });
          ctx.addFilter(Title, (v) => `${v}>b-5`, { priority: -5 });
        }),
      ],
    });
    await host.start();
    expect(host.applyFilters(Title, "t")).toBe("t>a-5>b-5>a0>b0>b10");
  });

  test("a throwing filter is logged and skipped; no filters returns the value", async () => {
    const logger = createMemoryLogger();
    await using host = createHost({
      logger,
      extensions: [
        ext("ok", (ctx) => void ctx.addFilter(Title, (v) => v.toUpperCase())),
        ext(
          "bad",
          (ctx) =>
            void ctx.addFilter(Title, () => {
              throw new Error("filter broke");
            }),
        ),
      ],
    });
    await host.start();
    expect(host.applyFilters(Title, "abc")).toBe("ABC");
    expect(host.applyFilters(defineFilter<number>("test.none"), 7)).toBe(7);
    expect(logger.records.find((r) => r.msg === "filter threw; skipped")?.fields).toMatchObject({
      ext: "bad",
    });
  });

  test("removing a filter takes it out of the chain", async () => {
    await using host = createHost({ extensions: [] });
    await host.start();
    const off = host.addFilter(Title, (v) => `${v}!`);
    expect(host.applyFilters(Title, "x")).toBe("x!");
    off();
    expect(host.applyFilters(Title, "x")).toBe("x");
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
  // @ts-expect-error an event handle is not a filter handle
  const wrongKind: FilterHandle<string> = Said;
  expect([fake.id, real.id, wrongKind.id]).toEqual(["test/fake", "test/fake", "test.said"]);
  expect(Object.isFrozen(real)).toBe(true);
});
