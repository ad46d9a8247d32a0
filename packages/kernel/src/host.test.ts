import { describe, expect, test } from "bun:test";
import {
  defineEvent,
  defineService,
  type Extension,
  type ExtensionContext,
  isKernelError,
  type KernelError,
  KernelHost,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "./contract";
import { createHost } from "./host";
import { createMemoryLogger } from "./logger";

/** A test extension that records its lifecycle into `log`. */
function ext(
  log: string[],
  id: string,
  opts: {
    dependsOn?: string[];
    optionalDependsOn?: string[];
    activate?: (ctx: ExtensionContext) => void | Promise<void>;
    deactivate?: () => void | Promise<void>;
  } = {},
): Extension {
  return {
    manifest: {
      id,
      version: "0.1.0",
      ...(opts.dependsOn ? { dependsOn: opts.dependsOn } : {}),
      ...(opts.optionalDependsOn ? { optionalDependsOn: opts.optionalDependsOn } : {}),
    },
    async activate(ctx) {
      log.push(`activate ${id}`);
      await opts.activate?.(ctx);
      ctx.scope.add(() => {
        log.push(`dispose ${id}`);
      });
    },
    async deactivate() {
      log.push(`deactivate ${id}`);
      await opts.deactivate?.();
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject");
}

interface Counter {
  n(): number;
}
const CounterService = defineService<Counter>("test/counter");
const Ping = defineEvent<string>("test.ping");

describe("boot", () => {
  test("activates in topological order and stops in reverse", async () => {
    const log: string[] = [];
    const host = createHost({
      extensions: [ext(log, "c", { dependsOn: ["b"] }), ext(log, "a"), ext(log, "b", { dependsOn: ["a"] })],
    });
    const report = await host.start();
    expect(report).toEqual({ active: ["a", "b", "c"], disabled: [] });
    await host.stop();
    expect(log).toEqual([
      "activate a",
      "activate b",
      "activate c",
      "deactivate c",
      "dispose c",
      "deactivate b",
      "dispose b",
      "deactivate a",
      "dispose a",
    ]);
    expect(host.extensions().map((e) => e.state)).toEqual(["stopped", "stopped", "stopped"]);
  });

  test("an invalid graph throws before any extension code runs", async () => {
    const log: string[] = [];
    const host = createHost({ extensions: [ext(log, "a"), ext(log, "b", { dependsOn: ["nope"] })] });
    const e = await rejection(host.start());
    expect(isKernelError(e, "KERNEL_MISSING_DEPENDENCY")).toBe(true);
    expect(log).toEqual([]);
  });

  test("start twice is a coded error", async () => {
    await using host = createHost({ extensions: [] });
    await host.start();
    expect(isKernelError(await rejection(host.start()), "KERNEL_ALREADY_STARTED")).toBe(true);
  });

  test("ctx carries id, config section and a logger stamped with the id", async () => {
    const logger = createMemoryLogger();
    let seen: unknown;
    await using host = createHost({
      logger,
      config: { a: { port: 1 }, b: { port: 2 } },
      extensions: [
        ext([], "a", {
          activate(ctx) {
            seen = { id: ctx.id, config: ctx.config };
            ctx.logger.info("hello", { x: 1 });
          },
        }),
      ],
    });
    await host.start();
    expect(seen).toEqual({ id: "a", config: { port: 1 } });
    expect(logger.records).toContainEqual({ level: "info", msg: "hello", fields: { ext: "a", x: 1 } });
  });

  test("introspection: info per extension and a change notification per state change", async () => {
    const log: string[] = [];
    const host = createHost({
      extensions: [
        ext(log, "a"),
        ext(log, "bad", {
          activate() {
            throw new Error("boom");
          },
        }),
      ],
    });
    const states: string[] = [];
    host.onExtensionsChanged(() =>
      states.push(
        host
          .extensions()
          .map((e) => `${e.id}:${e.state}`)
          .join(","),
      ),
    );
    await host.start();
    const [a, bad] = host.extensions();
    expect(a).toMatchObject({ id: "a", version: "0.1.0", state: "active" });
    expect(typeof a?.activatedAt).toBe("number");
    expect(a?.activationMs).toBeGreaterThanOrEqual(0);
    expect(bad).toMatchObject({ id: "bad", state: "disabled", code: "KERNEL_ACTIVATION_FAILED" });
    expect(bad?.disabledReason).toContain("boom");
    await host.stop();
    expect(states).toEqual(["a:active,bad:pending", "a:active,bad:disabled", "a:stopped,bad:disabled"]);
  });

  test("the kernel provides KernelHost to extensions", async () => {
    let ids: string[] = [];
    await using host = createHost({
      extensions: [
        ext([], "a"),
        ext([], "b", {
          activate(ctx) {
            ids = ctx
              .get(KernelHost)
              .extensions()
              .map((e) => `${e.id}:${e.state}`);
          },
        }),
      ],
    });
    await host.start();
    expect(ids).toEqual(["a:active", "b:pending"]);
    expect(host.get(KernelHost).extensions()).toHaveLength(2);
  });
});

describe("failure isolation", () => {
  test("a failing extension is rolled back, its dependents skipped, optional dependents kept", async () => {
    const log: string[] = [];
    const host = createHost({
      extensions: [
        ext(log, "base", {
          activate(ctx) {
            ctx.provide(CounterService, { n: () => 1 });
            ctx.on(Ping, (p) => log.push(`base heard ${p}`));
            ctx.scope.add(() => {
              log.push("rollback base");
            });
            throw new Error("base broke");
          },
        }),
        ext(log, "mid", { dependsOn: ["base"] }),
        ext(log, "top", { dependsOn: ["mid"] }),
        ext(log, "opt", {
          optionalDependsOn: ["base"],
          activate(ctx) {
            log.push(`opt sees counter: ${ctx.tryGet(CounterService) !== undefined}`);
          },
        }),
      ],
    });
    const report = await host.start();
    expect(report.active).toEqual(["opt"]);
    expect(report.disabled).toEqual([
      { id: "base", code: "KERNEL_ACTIVATION_FAILED", reason: "activate threw: base broke" },
      { id: "mid", code: "KERNEL_DEPENDENCY_FAILED", reason: `depends on "base", which failed` },
      {
        id: "top",
        code: "KERNEL_DEPENDENCY_FAILED",
        reason: `depends on "mid", which depends on "base", which failed`,
      },
    ]);
    host.emit(Ping, "after");
    expect(host.tryGet(CounterService)).toBeUndefined();
    await host.stop();
    expect(log).toEqual([
      "activate base",
      "rollback base",
      "activate opt",
      "opt sees counter: false",
      "deactivate opt",
      "dispose opt",
    ]);
  });

  test("an activation that hangs is timed out, rolled back, and cannot register afterwards", async () => {
    const log: string[] = [];
    const logger = signallingLogger();
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    let lateError: unknown;
    const host = createHost({
      logger: logger.logger,
      activationTimeoutMs: 20,
      extensions: [
        ext(log, "slow", {
          async activate(ctx) {
            ctx.provide(CounterService, { n: () => 1 });
            await released;
            try {
              ctx.on(Ping, () => log.push("late handler"));
            } catch (e) {
              lateError = e;
              throw e;
            }
          },
        }),
        ext(log, "after", { dependsOn: ["slow"] }),
      ],
    });
    const report = await host.start();
    expect(report.disabled.map((d) => [d.id, d.code])).toEqual([
      ["slow", "KERNEL_ACTIVATION_TIMEOUT"],
      ["after", "KERNEL_DEPENDENCY_FAILED"],
    ]);
    expect(report.disabled[0]?.reason).toContain("20 ms");
    expect(host.tryGet(CounterService)).toBeUndefined();
    const lateLogged = logger.written("activate failed after its timeout");
    release();
    await lateLogged;
    expect(isKernelError(lateError, "KERNEL_CONTEXT_REVOKED")).toBe(true);
    host.emit(Ping, "x");
    expect(log).toEqual(["activate slow"]);
    await host.stop();
  });

  test("the default activation timeout is configurable and reported in the message", async () => {
    await using host = createHost({
      activationTimeoutMs: 1,
      extensions: [ext([], "never", { activate: () => new Promise<void>(() => {}) })],
    });
    const report = await host.start();
    expect(report.disabled[0]).toMatchObject({ id: "never", code: "KERNEL_ACTIVATION_TIMEOUT" });
  });

  test("activationTimeoutMs: Infinity (or past setTimeout's range) means no timeout, not an instant one", async () => {
    // setTimeout turns Infinity and delays >= 2^31 ms into 1 ms; an activation that outlasts a later
    // timer would then be disabled at once.
    const outlastTimer = () => new Promise<void>((resolve) => setTimeout(resolve, 30));
    for (const activationTimeoutMs of [Infinity, 2 ** 31]) {
      await using host = createHost({
        activationTimeoutMs,
        extensions: [ext([], "slow", { activate: outlastTimer }), ext([], "bad", { activate: failing })],
      });
      const report = await host.start();
      expect({ activationTimeoutMs, active: report.active }).toEqual({
        activationTimeoutMs,
        active: ["slow"],
      });
      expect(report.disabled.map((d) => d.code)).toEqual(["KERNEL_ACTIVATION_FAILED"]);
    }
  });

  test("a timeout that makes no sense is rejected when the host is created", () => {
    for (const ms of [0, -5, Number.NaN]) {
      for (const option of ["activationTimeoutMs", "disposeTimeoutMs"]) {
        const e = rejectionSync(() => createHost({ [option]: ms, extensions: [] }));
        expect({ option, ms, code: (e as KernelError).code }).toEqual({
          option,
          ms,
          code: "KERNEL_INVALID_OPTIONS",
        });
        expect((e as KernelError).message).toContain(option);
      }
    }
  });

  test("a second provider for a service fails the second extension", async () => {
    await using host = createHost({
      extensions: [
        ext([], "one", { activate: (ctx) => void ctx.provide(CounterService, { n: () => 1 }) }),
        ext([], "two", { activate: (ctx) => void ctx.provide(CounterService, { n: () => 2 }) }),
      ],
    });
    const report = await host.start();
    expect(report.disabled).toHaveLength(1);
    expect(report.disabled[0]).toMatchObject({ id: "two", code: "KERNEL_ACTIVATION_FAILED" });
    expect(report.disabled[0]?.reason).toContain(`"one" already provides`);
    expect(host.get(CounterService).n()).toBe(1);
  });

  test("two handle objects with one id are a duplicate too", async () => {
    const lookAlike = defineService<Counter>("test/counter");
    await using host = createHost({
      extensions: [
        ext([], "one", { activate: (ctx) => void ctx.provide(CounterService, { n: () => 1 }) }),
        ext([], "two", { activate: (ctx) => void ctx.provide(lookAlike, { n: () => 2 }) }),
      ],
    });
    expect((await host.start()).disabled[0]?.id).toBe("two");
  });
});

describe("services", () => {
  test("get names the handle and the asker when nothing provides it", async () => {
    let caught: unknown;
    await using host = createHost({
      extensions: [
        ext([], "asker", {
          activate(ctx) {
            try {
              ctx.get(CounterService);
            } catch (e) {
              caught = e;
            }
          },
        }),
      ],
    });
    await host.start();
    expect(isKernelError(caught, "KERNEL_SERVICE_NOT_FOUND")).toBe(true);
    expect((caught as KernelError).message).toContain(`"asker"`);
    expect((caught as KernelError).message).toContain(`"test/counter"`);
    expect(
      isKernelError(
        rejectionSync(() => host.get(CounterService)),
        "KERNEL_SERVICE_NOT_FOUND",
      ),
    ).toBe(true);
  });

  test("the host is sealed after boot", async () => {
    let ctxOut: ExtensionContext | undefined;
    const keep = (ctx: ExtensionContext) => {
      ctxOut = ctx;
    };
    await using host = createHost({ extensions: [ext([], "a", { activate: keep })] });
    await host.start();
    expect(Object.keys(ctxOut?.scope ?? {})).toEqual(["add"]);
    const e = rejectionSync(() => ctxOut?.provide(CounterService, { n: () => 1 }));
    expect(isKernelError(e, "KERNEL_HOST_SEALED")).toBe(true);
    // events stay open after boot
    const heard: string[] = [];
    ctxOut?.on(Ping, (p) => heard.push(p));
    host.emit(Ping, "late");
    expect(heard).toEqual(["late"]);
  });

  test("a provide disposer removes the service", async () => {
    let undo: (() => void | Promise<void>) | undefined;
    let after: Counter | undefined;
    await using host = createHost({
      extensions: [
        ext([], "a", {
          activate(ctx) {
            undo = ctx.provide(CounterService, { n: () => 1 });
            undo();
            undo();
            after = ctx.tryGet(CounterService);
          },
        }),
      ],
    });
    await host.start();
    expect(after).toBeUndefined();
  });
});

describe("shutdown", () => {
  test("calls every disposer even when some throw and reports them all at once", async () => {
    const log: string[] = [];
    const host = createHost({
      extensions: [
        ext(log, "a", {
          activate(ctx) {
            ctx.scope.add(() => {
              log.push("a first");
            });
            ctx.scope.add(() => {
              throw new Error("a disposer broke");
            });
          },
        }),
        ext(log, "b", {
          dependsOn: ["a"],
          deactivate() {
            throw new Error("b deactivate broke");
          },
          activate(ctx) {
            ctx.scope.add(async () => {
              await Promise.resolve();
              throw new Error("b async disposer broke");
            });
          },
        }),
      ],
    });
    await host.start();
    const e = await rejection(host.stop());
    expect(isKernelError(e, "KERNEL_SHUTDOWN_ERRORS")).toBe(true);
    const errors = (e as KernelError).errors as KernelError[];
    expect(errors.map((x) => [x.code, x.extensionId, (x.cause as Error).message])).toEqual([
      ["KERNEL_DISPOSER_FAILED", "b", "b deactivate broke"],
      ["KERNEL_DISPOSER_FAILED", "b", "b async disposer broke"],
      ["KERNEL_DISPOSER_FAILED", "a", "a disposer broke"],
    ]);
    expect(log).toEqual([
      "activate a",
      "activate b",
      "deactivate b",
      "dispose b",
      "deactivate a",
      "dispose a",
      "a first",
    ]);
    // idempotent: the same outcome, no second run
    expect(await rejection(host.stop())).toBe(e);
    expect(log).toHaveLength(7);
  });

  test("a hanging deactivate or disposer is reported after disposeTimeoutMs and shutdown goes on", async () => {
    const log: string[] = [];
    const never = () => new Promise<void>(() => {});
    const host = createHost({
      disposeTimeoutMs: 20,
      extensions: [
        ext(log, "a", {
          activate(ctx) {
            ctx.scope.add(() => {
              log.push("a before the hang");
            });
            ctx.scope.add(never);
          },
        }),
        ext(log, "b", { dependsOn: ["a"], deactivate: never }),
      ],
    });
    await host.start();
    const e = await rejection(host.stop());
    expect(isKernelError(e, "KERNEL_SHUTDOWN_ERRORS")).toBe(true);
    expect((e as KernelError).errors.map((x) => (x as KernelError).message)).toEqual([
      `extension "b": deactivate failed: did not finish within 20 ms`,
      `extension "a": disposer failed: did not finish within 20 ms`,
    ]);
    expect(log).toEqual([
      "activate a",
      "activate b",
      "deactivate b",
      "dispose b",
      "deactivate a",
      "dispose a",
      "a before the hang",
    ]);
    expect(host.extensions().map((x) => x.state)).toEqual(["stopped", "stopped"]);
  });

  test("a hanging rollback disposer does not block boot", async () => {
    const logger = createMemoryLogger();
    await using host = createHost({
      logger,
      disposeTimeoutMs: 20,
      extensions: [
        ext([], "bad", {
          activate(ctx) {
            ctx.scope.add(() => new Promise<void>(() => {}));
            throw new Error("bad");
          },
        }),
        ext([], "good"),
      ],
    });
    expect((await host.start()).active).toEqual(["good"]);
    expect(logger.records.find((r) => r.msg === "rollback disposer failed")?.fields).toEqual({
      ext: "bad",
      error: "did not finish within 20 ms",
    });
  });

  test("await using stops the host", async () => {
    const log: string[] = [];
    {
      await using host = createHost({ extensions: [ext(log, "a")] });
      await host.start();
    }
    expect(log).toEqual(["activate a", "deactivate a", "dispose a"]);
  });

  test("an early disposer runs once and is not run again at shutdown", async () => {
    const log: string[] = [];
    const host = createHost({
      extensions: [
        ext(log, "a", {
          activate(ctx) {
            const undo = ctx.scope.add(() => {
              log.push("early");
            });
            undo();
          },
        }),
      ],
    });
    await host.start();
    await host.stop();
    expect(log).toEqual(["activate a", "early", "deactivate a", "dispose a"]);
  });

  test("stop before start is a no-op, and the stopped host cannot be started", async () => {
    const log: string[] = [];
    const host = createHost({ extensions: [ext(log, "a")] });
    await host.stop();
    expect(host.extensions()).toEqual([]);
    expect(isKernelError(await rejection(host.start()), "KERNEL_ALREADY_STARTED")).toBe(true);
    expect(log).toEqual([]);
  });
});

function failing(): never {
  throw new Error("broken on purpose");
}

/** A logger that keeps records and resolves `written(msg)` once a record with that message appears. */
function signallingLogger() {
  const records: LogRecord[] = [];
  const waiters: { msg: string; resolve: () => void }[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      records.push({ level, msg, fields: { ...bindings, ...fields } });
      for (const w of waiters.filter((x) => x.msg === msg)) w.resolve();
    };
    return {
      debug: write("debug"),
      info: write("info"),
      warn: write("warn"),
      error: write("error"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  const written = (msg: string): Promise<void> => {
    if (records.some((r) => r.msg === msg)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for the log "${msg}"`)), 5000);
      waiters.push({
        msg,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  };
  return { logger: make({}), records, written };
}

function rejectionSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to throw");
}
