import { Bus, describeError } from "./bus";
import {
  type BootReport,
  type Disposer,
  type Extension,
  type ExtensionContext,
  type ExtensionInfo,
  HOST_OWNER,
  type Host,
  type HostOptions,
  KernelError,
  type KernelErrorCode,
  KernelHost,
} from "./contract";
import { planActivation } from "./graph";
import { silentLogger } from "./logger";
import { resolveNeeds } from "./needs";
import { ExtensionScope, once } from "./scope";
import { ServiceRegistry } from "./services";
import { checkTimeout, runWithTimeout, timedOut } from "./timeout";

export const DEFAULT_ACTIVATION_TIMEOUT_MS = 10_000;
export const DEFAULT_DISPOSE_TIMEOUT_MS = 5_000;
const KERNEL_OWNER = "kernel";

interface Slot {
  ext: Extension;
  info: ExtensionInfo;
  scope?: ExtensionScope;
}

type Phase = "idle" | "starting" | "started" | "stopping" | "stopped";

/**
 * Creates a host for `opts.extensions`. Nothing runs until `start()`.
 *
 * Lifecycle: start validates the whole graph first (no extension code runs when it is invalid), then
 * activates one extension at a time in topological order. A failed or timed-out activation rolls back
 * that extension's scope and disables it and, transitively, every extension that requires it. After
 * boot the host is sealed (no new services). stop() runs in reverse activation order.
 */
export function createHost(opts: HostOptions): Host {
  const logger = opts.logger ?? silentLogger;
  const timeoutMs = checkTimeout(
    "activationTimeoutMs",
    opts.activationTimeoutMs,
    DEFAULT_ACTIVATION_TIMEOUT_MS,
  );
  const disposeMs = checkTimeout("disposeTimeoutMs", opts.disposeTimeoutMs, DEFAULT_DISPOSE_TIMEOUT_MS);
  const services = new ServiceRegistry();
  const bus = new Bus(logger);
  const slots = new Map<string, Slot>();
  const activationOrder: string[] = [];
  const changeListeners = new Set<{ fn: () => void }>();
  /** The kernel's own registrations (the KernelHost service), disposed last. */
  const kernelScope = new ExtensionScope(KERNEL_OWNER, disposeMs);
  let phase: Phase = "idle";
  let sealed = false;
  let started: Promise<BootReport> | undefined;
  let stopped: Promise<void> | undefined;

  const notifyChanged = () => {
    for (const l of [...changeListeners]) {
      try {
        l.fn();
      } catch (e) {
        logger.error("extensions-changed listener threw", { error: describeError(e) });
      }
    }
  };
  const setInfo = (slot: Slot, patch: Partial<ExtensionInfo>) => {
    slot.info = { ...slot.info, ...patch };
    notifyChanged();
  };

  const introspection = {
    extensions: (): ExtensionInfo[] => [...slots.values()].map((s) => ({ ...s.info })),
    onExtensionsChanged(listener: () => void): Disposer {
      const entry = { fn: listener };
      changeListeners.add(entry);
      return () => {
        changeListeners.delete(entry);
      };
    },
  };

  const makeContext = (slot: Slot, scope: ExtensionScope): ExtensionContext => {
    const id = slot.info.id;
    // Check before registering so a revoked context leaves nothing behind.
    const register = (make: () => Disposer) => {
      scope.assertOpen();
      return scope.add(make());
    };
    return {
      id,
      config: opts.config?.[id],
      logger: logger.child({ ext: id }),
      // Only `add`: disposing is the host's job.
      scope: { add: (disposer) => scope.add(disposer) },
      provide(h, impl) {
        scope.assertOpen();
        if (sealed) {
          throw new KernelError(
            "KERNEL_HOST_SEALED",
            `extension "${id}" provided service "${h.id}" after boot; provide services during activate`,
            { extensionId: id },
          );
        }
        const declared = slot.ext.manifest.provides;
        if (declared && !declared.some((d) => d.id === h.id)) {
          throw new KernelError(
            "KERNEL_INVALID_MANIFEST",
            `extension "${id}" provided service "${h.id}", which its manifest's "provides" does not list; add it there`,
            { extensionId: id },
          );
        }
        return register(() => services.provide(id, h, impl));
      },
      get: (h) => services.get(id, h),
      tryGet: (h) => services.tryGet(h),
      on(e, handler) {
        return register(() => bus.on(id, e, handler));
      },
      emit: (e, payload) => bus.emit(e, payload),
    };
  };

  const disable = (slot: Slot, code: KernelErrorCode, reason: string) => {
    setInfo(slot, { state: "disabled", code, disabledReason: reason });
  };

  const activate = async (slot: Slot): Promise<void> => {
    const id = slot.info.id;
    const scope = new ExtensionScope(id, disposeMs);
    slot.scope = scope;
    const ctx = makeContext(slot, scope);
    const t0 = performance.now();
    let outcome = await runWithTimeout(() => slot.ext.activate(ctx), timeoutMs);
    // The graph trusted `provides`: an activation that did not keep that promise failed.
    const unkept = (slot.ext.manifest.provides ?? []).filter((h) => !services.has(h));
    if (outcome.ok && unkept.length > 0) {
      const names = unkept.map((h) => `"${h.id}"`).join(", ");
      const error = new KernelError(
        "KERNEL_ACTIVATION_FAILED",
        `extension "${id}" lists ${names} in "provides" but its activate did not provide it`,
        { extensionId: id },
      );
      outcome = { ok: false, timedOut: false, error };
    }
    if (outcome.ok) {
      activationOrder.push(id);
      setInfo(slot, { state: "active", activatedAt: Date.now(), activationMs: performance.now() - t0 });
      return;
    }
    const rollbackErrors = await scope.dispose();
    for (const e of rollbackErrors) {
      logger.error("rollback disposer failed", { ext: id, error: describeError(e) });
    }
    if (outcome.timedOut) {
      outcome.late.then(undefined, (e) =>
        logger.warn("activate failed after its timeout", { ext: id, error: describeError(e) }),
      );
      const reason = `activate did not finish within ${timeoutMs} ms`;
      logger.error("extension disabled", { ext: id, code: "KERNEL_ACTIVATION_TIMEOUT", reason });
      disable(slot, "KERNEL_ACTIVATION_TIMEOUT", reason);
    } else {
      const reason = `activate threw: ${describeError(outcome.error)}`;
      logger.error("extension disabled", { ext: id, code: "KERNEL_ACTIVATION_FAILED", reason });
      disable(slot, "KERNEL_ACTIVATION_FAILED", reason);
    }
  };

  /** The first required dependency that is disabled, with its reason, if any. */
  const failedDependency = (required: readonly string[]): string | undefined => {
    for (const dep of required) {
      const info = slots.get(dep)?.info;
      if (info?.state !== "disabled") continue;
      return info.code === "KERNEL_DEPENDENCY_FAILED"
        ? `depends on "${dep}", which ${info.disabledReason}`
        : `depends on "${dep}", which failed`;
    }
    return undefined;
  };

  const boot = async (): Promise<BootReport> => {
    const plan = planActivation(opts.extensions.map((e) => e?.manifest));
    if (!plan.ok) {
      phase = "idle";
      throw plan.error;
    }
    // The plan succeeded, so resolving the needs does too: the providers each extension requires.
    const resolved = resolveNeeds(opts.extensions.map((e) => e.manifest));
    const required = new Map(resolved.ok ? resolved.manifests.map((m) => [m.id, m.dependsOn ?? []]) : []);
    for (const ext of opts.extensions) {
      const { id, version } = ext.manifest;
      slots.set(id, { ext, info: { id, version, state: "pending" } });
    }
    kernelScope.add(services.provide(KERNEL_OWNER, KernelHost, introspection));
    for (const id of plan.order) {
      const slot = slots.get(id)!;
      const reason = failedDependency(required.get(id) ?? []);
      if (reason !== undefined) {
        logger.warn("extension skipped", { ext: id, code: "KERNEL_DEPENDENCY_FAILED", reason });
        disable(slot, "KERNEL_DEPENDENCY_FAILED", reason);
        continue;
      }
      await activate(slot);
    }
    sealed = true;
    phase = "started";
    const disabled = [...slots.values()]
      .filter((s) => s.info.state === "disabled")
      .map((s) => ({ id: s.info.id, code: s.info.code!, reason: s.info.disabledReason ?? "" }));
    return { active: [...activationOrder], disabled };
  };
  const shutdown = async (): Promise<void> => {
    if (started) await started.catch(() => {});
    phase = "stopping";
    sealed = true;
    const failures: KernelError[] = [];
    const record = (id: string, what: string, e: unknown) =>
      failures.push(
        new KernelError("KERNEL_DISPOSER_FAILED", `extension "${id}": ${what}: ${describeError(e)}`, {
          extensionId: id,
          cause: e,
        }),
      );
    for (const id of [...activationOrder].reverse()) {
      const slot = slots.get(id)!;
      const deactivate = slot.ext.deactivate;
      if (deactivate !== undefined) {
        const outcome = await runWithTimeout(() => deactivate.call(slot.ext), disposeMs);
        if (!outcome.ok) {
          record(
            id,
            "deactivate failed",
            outcome.timedOut ? timedOut(outcome.late, disposeMs) : outcome.error,
          );
        }
      }
      for (const e of (await slot.scope?.dispose()) ?? []) record(id, "disposer failed", e);
      setInfo(slot, { state: "stopped" });
    }
    for (const e of await kernelScope.dispose()) record(KERNEL_OWNER, "disposer failed", e);
    phase = "stopped";
    if (failures.length > 0) {
      throw new KernelError(
        "KERNEL_SHUTDOWN_ERRORS",
        `shutdown finished with ${failures.length} error(s): ${failures.map((f) => f.message).join("; ")}`,
        { errors: failures },
      );
    }
  };

  return {
    start() {
      if (phase !== "idle") {
        const problem =
          stopped === undefined
            ? `host.start() was called twice (host is ${phase})`
            : "host.start() was called after stop(); a stopped host cannot restart, create a new one";
        return Promise.reject(new KernelError("KERNEL_ALREADY_STARTED", problem));
      }
      phase = "starting";
      started = boot();
      return started;
    },
    stop() {
      stopped ??= shutdown();
      return stopped;
    },
    [Symbol.asyncDispose]() {
      return this.stop();
    },
    get: (h) => services.get(HOST_OWNER, h),
    tryGet: (h) => services.tryGet(h),
    on: (e, handler) => once(bus.on(HOST_OWNER, e, handler)),
    emit: (e, payload) => bus.emit(e, payload),
    ...introspection,
  };
}
