/**
 * The surface registry's contract: the `SurfaceRegistry` service, the provider shape extensions
 * implement, and the error codes. Consumers (transports, extensions with surfaces) import this file
 * through the package index, never the implementation.
 *
 * A surface is a small UI panel described by data (PROTOCOL.md §7). Providers describe it (`getSpec`),
 * run its actions (`invoke`) and say when it changed (`subscribe`); the registry keeps the catalog,
 * turns provider failures into values and fans change notifications out to transports.
 */
import { type Disposer, defineService, type Result as KernelResult } from "@dispatch/kernel";
import type { CatalogEntry, SurfaceSpec } from "@dispatch/protocol/types";

export type { CatalogEntry, Field, SurfaceScope, SurfaceSpec } from "@dispatch/protocol/types";

/** Which conversation a request is about; absent for global surfaces. */
export interface SurfaceContext {
  conversationId?: string;
}

export interface SurfaceProvider {
  /** `scope` absent = conversation-scoped (PROTOCOL.md §7). `id` is unique across the registry. */
  readonly catalogEntry: CatalogEntry;
  /** The full spec; its `id` must equal `catalogEntry.id`. May be async. */
  getSpec(ctx?: SurfaceContext): SurfaceSpec | Promise<SurfaceSpec>;
  /**
   * Runs action `actionId` and returns its result. Expected failures are thrown as `SurfaceActionError`
   * (use `unknownAction(actionId)` for ids the surface does not have); anything else thrown is treated
   * as a bug: reported to the caller as SURFACE_ACTION_FAILED and logged.
   */
  invoke(actionId: string, payload?: unknown, ctx?: SurfaceContext): unknown | Promise<unknown>;
  /**
   * Calls `onChange` whenever the spec may have changed: with `{ conversationId }` when only that
   * conversation's spec changed, without an argument when every spec of this surface changed.
   */
  subscribe?(onChange: (ctx?: SurfaceContext) => void): Disposer;
}

export const SurfaceErrorCodes = [
  /** register: a surface with this id is already registered. */
  "SURFACE_DUPLICATE_ID",
  /** register: the provider is malformed (missing id, region, title, getSpec or invoke; bad scope). */
  "SURFACE_INVALID_PROVIDER",
  /** getSpec / invoke: no surface has this id. */
  "SURFACE_UNKNOWN",
  /** invoke: the surface has no action with this id. */
  "SURFACE_UNKNOWN_ACTION",
  /** invoke: the payload is not what the action takes. */
  "SURFACE_INVALID_PAYLOAD",
  /** invoke: the provider threw; the message carries what it said. */
  "SURFACE_ACTION_FAILED",
  /** getSpec: the provider threw, answered too late, or answered a spec for another id. */
  "SURFACE_SPEC_FAILED",
] as const;
export type SurfaceErrorCode = (typeof SurfaceErrorCodes)[number];

export interface SurfaceError {
  code: SurfaceErrorCode;
  /** For the caller (the frontend shows it): names the surface and action. */
  message: string;
}

export type Result<T, E = SurfaceError> = KernelResult<T, E>;

/** Codes a provider may report from `invoke`. */
export type SurfaceActionErrorCode =
  | "SURFACE_UNKNOWN_ACTION"
  | "SURFACE_INVALID_PAYLOAD"
  | "SURFACE_ACTION_FAILED";

/** Thrown by a provider's `invoke` for an expected failure; the registry returns it as a value. */
export class SurfaceActionError extends Error {
  override readonly name = "SurfaceActionError";
  constructor(
    readonly code: SurfaceActionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The error a provider throws for an action id it does not have. */
export function unknownAction(actionId: string): SurfaceActionError {
  return new SurfaceActionError("SURFACE_UNKNOWN_ACTION", `unknown action "${actionId}"`);
}

/** Thrown by `register` (a programming error: the caller registered something it should not have). */
export class SurfaceRegistryError extends Error {
  override readonly name = "SurfaceRegistryError";
  constructor(
    readonly code: "SURFACE_DUPLICATE_ID" | "SURFACE_INVALID_PROVIDER",
    message: string,
  ) {
    super(message);
  }
}

export interface SurfaceRegistry {
  /**
   * Adds `provider` to the catalog and subscribes to its changes. Throws SurfaceRegistryError
   * (SURFACE_DUPLICATE_ID, SURFACE_INVALID_PROVIDER). The disposer removes it and unsubscribes.
   */
  register(provider: SurfaceProvider): Disposer;
  /** The catalog entries, in registration order (copies). */
  catalog(): CatalogEntry[];
  /** Never rejects: provider failures and unknown ids are values. */
  getSpec(surfaceId: string, ctx?: SurfaceContext): Promise<Result<SurfaceSpec>>;
  /** Never rejects: provider failures, unknown surfaces and unknown actions are values. */
  invoke(
    surfaceId: string,
    actionId: string,
    payload?: unknown,
    ctx?: SurfaceContext,
  ): Promise<Result<unknown>>;
  /** Called with the new catalog after every register and unregister. */
  onCatalogChanged(listener: (catalog: CatalogEntry[]) => void): Disposer;
  /**
   * Called when a surface's spec may have changed. `ctx.conversationId` present: only that
   * conversation's spec of `surfaceId`; absent: every spec of `surfaceId` (always so for global surfaces).
   */
  onSpecChanged(listener: (surfaceId: string, ctx?: SurfaceContext) => void): Disposer;
}
export const SurfaceRegistry = defineService<SurfaceRegistry>("surface-registry/registry");

/** The id of the built-in global surface that lists the host's extensions. */
export const LOADED_EXTENSIONS_SURFACE_ID = "loaded-extensions";
