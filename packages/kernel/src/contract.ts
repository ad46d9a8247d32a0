/**
 * The kernel ABI: typed handles, the extension shape, the context an extension receives, the host,
 * introspection and the coded errors. Every other package codes against this file only.
 *
 * The kernel performs no I/O and uses no runtime-specific API (see purity.test.ts).
 */

declare const brand: unique symbol;

/**
 * A typed token naming a service. The phantom `[brand]` member is required, so an object literal that
 * merely looks like a handle is a type error; only `defineService` makes one. Identity matters at
 * runtime: the host keys services by the handle object.
 */
export interface ServiceHandle<T> {
  readonly kind: "service";
  readonly id: string;
  readonly [brand]: T;
}
export interface EventHandle<T> {
  readonly kind: "event";
  readonly id: string;
  readonly [brand]: T;
}

/**
 * An expected outcome as a value: packages alias it with their own error type as the default
 * (`type Result<T, E = StoreError> = kernel.Result<T, E>`), so every `Result` in the daemon has one shape.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** Undoes one registration. Idempotent: calling it twice does the work once. */
export type Disposer = () => void | Promise<void>;

export type LogLevel = "debug" | "info" | "warn" | "error";
export interface LogRecord {
  level: LogLevel;
  msg: string;
  /** Child bindings merged with the call's fields (call fields win). */
  fields: Record<string, unknown>;
}
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface Manifest {
  /** Unique among the host's extensions; also the key of its config section. */
  id: string;
  version: string;
  /**
   * The services `activate` provides. Others name these handles in `needs`, and the graph derives who
   * depends on whom from that, so no extension names another by id.
   */
  provides?: ServiceHandle<unknown>[];
  /** Services whose providers are activated before this one; like `dependsOn` for those providers. */
  needs?: ServiceHandle<unknown>[];
  /** Services whose providers, when installed, are activated first; like `optionalDependsOn`. */
  optionalNeeds?: ServiceHandle<unknown>[];
  /**
   * Activated before this one; if one of them is disabled, this one is skipped. Prefer `needs`; this
   * is for an order that no service expresses.
   */
  dependsOn?: string[];
  /** Activated before this one when installed; missing or failed ones don't skip this one. */
  optionalDependsOn?: string[];
}

/** Collects an extension's disposers; disposed in reverse order on rollback and on shutdown. */
export interface Scope {
  /**
   * Records `disposer`. The returned disposer runs it early and forgets it (idempotent).
   * Throws KERNEL_CONTEXT_REVOKED once the scope has been disposed.
   */
  add(disposer: Disposer): Disposer;
}

/** Service lookup and events: shared by extension contexts and the composition root's Host. */
export interface KernelBus {
  /** Throws KERNEL_SERVICE_NOT_FOUND naming the handle and the asker when nothing provides `h`. */
  get<T>(h: ServiceHandle<T>): T;
  tryGet<T>(h: ServiceHandle<T>): T | undefined;
  /** Handlers run synchronously in registration order; a throwing handler is logged, never propagated. */
  on<T>(e: EventHandle<T>, handler: (payload: T) => void): Disposer;
  emit<T>(e: EventHandle<T>, payload: T): void;
}

/** What `activate` receives. Registrations made here are recorded in `scope`. */
export interface ExtensionContext extends KernelBus {
  readonly id: string;
  /** This extension's config section (host `config[id]`); validate it (zod) in activate. */
  readonly config: unknown;
  /** Child logger stamped `{ ext: id }`. */
  readonly logger: Logger;
  readonly scope: Scope;
  /**
   * Provides the one implementation of `h`. Throws KERNEL_DUPLICATE_SERVICE when it is already provided
   * and KERNEL_HOST_SEALED after boot.
   */
  provide<T>(h: ServiceHandle<T>, impl: T): Disposer;
}

export interface Extension {
  manifest: Manifest;
  activate(ctx: ExtensionContext): void | Promise<void>;
  /** Called on shutdown (not on failed activation), before the scope's disposers. */
  deactivate?(): void | Promise<void>;
}

export type ExtensionState = "pending" | "active" | "disabled" | "stopped";

export interface ExtensionInfo {
  id: string;
  version: string;
  state: ExtensionState;
  /** Epoch milliseconds when activation finished. */
  activatedAt?: number;
  /** How long `activate` took, in milliseconds. */
  activationMs?: number;
  /** Why the extension is disabled (state "disabled"). */
  disabledReason?: string;
  /** Error code of the disabling failure (state "disabled"). */
  code?: KernelErrorCode;
}

export interface BootReport {
  /** Activated extension ids, in activation order. */
  active: string[];
  disabled: { id: string; code: KernelErrorCode; reason: string }[];
}

/** What the kernel itself provides under `KernelHost`, for surfaces and diagnostics. */
export interface HostIntrospection {
  /** A snapshot in manifest order. */
  extensions(): ExtensionInfo[];
  /** Called after any extension changes state. */
  onExtensionsChanged(listener: () => void): Disposer;
}

export interface HostOptions {
  extensions: Extension[];
  /** Config sections keyed by extension id. */
  config?: Record<string, unknown>;
  logger?: Logger;
  /**
   * Per-extension activation timeout in milliseconds; default 10 000. `Infinity` turns it off (for
   * debugging). Zero, negative and NaN are rejected with KERNEL_INVALID_OPTIONS.
   */
  activationTimeoutMs?: number;
  /**
   * How long one step of shutdown or rollback (a `deactivate`, one disposer) may take before it is
   * reported as failed and the next step runs; default 5 000 ms, `Infinity` for none.
   */
  disposeTimeoutMs?: number;
}

/** The composition root's handle on the kernel. Registrations made through it are not scoped. */
export interface Host extends KernelBus, HostIntrospection, AsyncDisposable {
  /**
   * Validates the graph (throws KernelError before running any extension code), then activates in
   * topological order. Activation failures do not throw: they are in the report. Seals the host.
   */
  start(): Promise<BootReport>;
  /**
   * Deactivates and disposes in reverse activation order, calling every disposer. Throws one
   * KERNEL_SHUTDOWN_ERRORS KernelError carrying every failure in `errors`. Idempotent.
   */
  stop(): Promise<void>;
}

export const KernelErrorCodes = [
  "KERNEL_INVALID_OPTIONS",
  "KERNEL_INVALID_HANDLE",
  "KERNEL_INVALID_MANIFEST",
  "KERNEL_DUPLICATE_EXTENSION",
  "KERNEL_MISSING_DEPENDENCY",
  "KERNEL_DEPENDENCY_CYCLE",
  "KERNEL_ACTIVATION_FAILED",
  "KERNEL_ACTIVATION_TIMEOUT",
  "KERNEL_DEPENDENCY_FAILED",
  "KERNEL_DUPLICATE_SERVICE",
  "KERNEL_SERVICE_NOT_FOUND",
  "KERNEL_HOST_SEALED",
  "KERNEL_CONTEXT_REVOKED",
  "KERNEL_ALREADY_STARTED",
  "KERNEL_DISPOSER_FAILED",
  "KERNEL_SHUTDOWN_ERRORS",
] as const;
export type KernelErrorCode = (typeof KernelErrorCodes)[number];

export interface KernelErrorOptions {
  /** The extension the error is about, when there is one. */
  extensionId?: string;
  cause?: unknown;
  /** Every collected failure (KERNEL_SHUTDOWN_ERRORS). */
  errors?: readonly unknown[];
}

export class KernelError extends Error {
  override readonly name = "KernelError";
  readonly code: KernelErrorCode;
  readonly extensionId?: string;
  readonly errors: readonly unknown[];

  constructor(code: KernelErrorCode, message: string, opts: KernelErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    if (opts.extensionId !== undefined) this.extensionId = opts.extensionId;
    this.errors = opts.errors ?? [];
  }
}

/** True when `e` is a KernelError, optionally with the given code. */
export function isKernelError(e: unknown, code?: KernelErrorCode): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}

function makeHandle<K extends "service" | "event">(kind: K, id: string) {
  if (typeof id !== "string" || id.length === 0) {
    throw new KernelError("KERNEL_INVALID_HANDLE", `a ${kind} handle needs a non-empty id`);
  }
  return Object.freeze({ kind, id });
}

export function defineService<T>(id: string): ServiceHandle<T> {
  return makeHandle("service", id) as ServiceHandle<T>;
}
export function defineEvent<T>(id: string): EventHandle<T> {
  return makeHandle("event", id) as EventHandle<T>;
}

/** Provided by the kernel itself: the host's extension list and its change notifications. */
export const KernelHost = defineService<HostIntrospection>("kernel/host");

/** The id used in logs and errors for registrations made by the composition root through the Host. */
export const HOST_OWNER = "host";
