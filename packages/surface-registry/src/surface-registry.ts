import { type Disposer, type Logger, silentLogger } from "@dispatch/kernel";
import { parseBody, SurfaceSpecSchema } from "@dispatch/protocol";
import {
  type CatalogEntry,
  type Result,
  SurfaceActionError,
  type SurfaceContext,
  type SurfaceError,
  type SurfaceProvider,
  type SurfaceRegistry,
  SurfaceRegistryError,
} from "./contract";

export const DEFAULT_SPEC_TIMEOUT_MS = 10_000;

export interface SurfaceRegistryOptions {
  logger?: Logger;
  /**
   * How long `getSpec` waits for a provider before answering SURFACE_SPEC_FAILED; default 10 000 ms,
   * `Infinity` for no limit.
   */
  specTimeoutMs?: number;
}

interface Registration {
  provider: SurfaceProvider;
  entry: CatalogEntry;
  live: boolean;
}

/**
 * Creates the registry. Listeners are isolated: one that throws is logged and the others still run.
 * Provider failures never escape `getSpec`/`invoke`: they come back as `{ ok: false, error }`.
 */
export function createSurfaceRegistry(opts: SurfaceRegistryOptions = {}): SurfaceRegistry {
  const logger = opts.logger ?? silentLogger;
  const specTimeoutMs = opts.specTimeoutMs ?? DEFAULT_SPEC_TIMEOUT_MS;
  if (typeof specTimeoutMs !== "number" || Number.isNaN(specTimeoutMs) || specTimeoutMs <= 0) {
    throw new RangeError(
      `specTimeoutMs must be a positive number of milliseconds, or Infinity for none (got ${String(specTimeoutMs)})`,
    );
  }
  const surfaces = new Map<string, Registration>();
  const catalogListeners = new Set<{ fn: (catalog: CatalogEntry[]) => void }>();
  const specListeners = new Set<{ fn: (surfaceId: string, ctx?: SurfaceContext) => void }>();

  const catalog = () => [...surfaces.values()].map((r) => ({ ...r.entry }));

  const notify = <A extends unknown[]>(
    listeners: Set<{ fn: (...args: A) => void }>,
    what: string,
    args: A,
  ) => {
    for (const l of [...listeners]) {
      try {
        l.fn(...args);
      } catch (e) {
        logger.error(`${what} listener threw`, { error: describe(e) });
      }
    }
  };

  const listen = <F>(listeners: Set<{ fn: F }>, fn: F): Disposer => {
    const entry = { fn };
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
    };
  };

  const specChanged = (reg: Registration, ctx?: SurfaceContext) => {
    if (!reg.live) return;
    const scoped = reg.entry.scope !== "global" && ctx?.conversationId !== undefined;
    const args: [string, SurfaceContext?] = scoped
      ? [reg.entry.id, { conversationId: ctx.conversationId }]
      : [reg.entry.id];
    notify(specListeners, "spec-changed", args);
  };

  return {
    register(provider) {
      const entry = validateProvider(provider);
      if (surfaces.has(entry.id)) {
        throw new SurfaceRegistryError(
          "SURFACE_DUPLICATE_ID",
          `surface "${entry.id}" is already registered; surface ids must be unique`,
        );
      }
      const reg: Registration = { provider, entry, live: true };
      // In the catalog before subscribing: a provider may report a change from inside subscribe.
      surfaces.set(entry.id, reg);
      let unsubscribe: Disposer | undefined;
      try {
        unsubscribe = provider.subscribe?.((ctx) => specChanged(reg, ctx));
      } catch (e) {
        reg.live = false;
        surfaces.delete(entry.id);
        throw e;
      }
      notify(catalogListeners, "catalog-changed", [catalog()]);
      return () => {
        if (!reg.live) return;
        reg.live = false;
        surfaces.delete(entry.id);
        notify(catalogListeners, "catalog-changed", [catalog()]);
        return unsubscribe?.();
      };
    },

    catalog,

    async getSpec(surfaceId, ctx) {
      const reg = surfaces.get(surfaceId);
      if (!reg) return unknownSurface(surfaceId);
      const outcome = await settleWithin(() => reg.provider.getSpec(ctx), specTimeoutMs);
      if (outcome.kind === "timeout") {
        return fail(
          "SURFACE_SPEC_FAILED",
          `surface "${surfaceId}" did not describe itself within ${specTimeoutMs} ms`,
        );
      }
      if (outcome.kind === "threw") {
        logger.error("surface getSpec threw", { surface: surfaceId, error: describe(outcome.error) });
        return fail(
          "SURFACE_SPEC_FAILED",
          `surface "${surfaceId}" failed to describe itself: ${describe(outcome.error)}`,
        );
      }
      // The spec goes to every frontend: check it against the wire schema (a NaN would reach them as
      // null, a misspelt field kind would break their renderer).
      const label = `surface "${surfaceId}" returned a malformed spec`;
      const parsed = parseBody(SurfaceSpecSchema, outcome.value, label);
      if (!parsed.ok || parsed.value.id !== surfaceId) {
        const problem = parsed.ok
          ? `${label}: its id is ${JSON.stringify(parsed.value.id)}`
          : parsed.error.message;
        logger.error("surface getSpec returned a malformed spec", { surface: surfaceId, problem });
        return fail("SURFACE_SPEC_FAILED", problem);
      }
      return { ok: true, value: parsed.value };
    },

    async invoke(surfaceId, actionId, payload, ctx) {
      const reg = surfaces.get(surfaceId);
      if (!reg) return unknownSurface(surfaceId);
      try {
        return { ok: true, value: await reg.provider.invoke(actionId, payload, ctx) };
      } catch (e) {
        if (e instanceof SurfaceActionError) {
          return fail(e.code, `surface "${surfaceId}", action "${actionId}": ${e.message}`);
        }
        logger.error("surface action threw", { surface: surfaceId, action: actionId, error: describe(e) });
        return fail(
          "SURFACE_ACTION_FAILED",
          `surface "${surfaceId}", action "${actionId}" failed: ${describe(e)}`,
        );
      }
    },

    onCatalogChanged: (listener) => listen(catalogListeners, listener),
    onSpecChanged: (listener) => listen(specListeners, listener),
  };
}

function fail(code: SurfaceError["code"], message: string): { ok: false; error: SurfaceError } {
  return { ok: false, error: { code, message } };
}

function unknownSurface(surfaceId: string): Result<never> {
  return fail("SURFACE_UNKNOWN", `unknown surface "${surfaceId}"`);
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Checks the provider's shape (it may come from untyped code) and returns a copy of its entry. */
function validateProvider(provider: SurfaceProvider): CatalogEntry {
  const bad = (why: string) => new SurfaceRegistryError("SURFACE_INVALID_PROVIDER", why);
  const entry = (provider as Partial<SurfaceProvider> | undefined)?.catalogEntry as
    | Partial<Record<keyof CatalogEntry, unknown>>
    | undefined;
  if (typeof entry !== "object" || entry === null) throw bad("surface provider has no catalogEntry");
  const { id, region, title, scope } = entry;
  if (typeof id !== "string" || id.length === 0) throw bad("surface provider's catalogEntry has no id");
  for (const [key, value] of [
    ["region", region],
    ["title", title],
  ] as const) {
    if (typeof value !== "string") throw bad(`surface "${id}" has no string ${key}`);
  }
  if (scope !== undefined && scope !== "global" && scope !== "conversation") {
    throw bad(`surface "${id}" has scope ${JSON.stringify(scope)}; use "global" or "conversation"`);
  }
  for (const fn of ["getSpec", "invoke"] as const) {
    if (typeof provider[fn] !== "function") throw bad(`surface "${id}" has no ${fn} function`);
  }
  return { ...(provider.catalogEntry as CatalogEntry) };
}

type Settled<T> = { kind: "value"; value: T } | { kind: "threw"; error: unknown } | { kind: "timeout" };

/** setTimeout's largest delay; longer ones (and Infinity) would fire at once, so they mean "no limit". */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `fn` (sync or async) and settles with its value, its error, or a timeout. */
async function settleWithin<T>(fn: () => T | Promise<T>, ms: number): Promise<Settled<T>> {
  const run = (async () => fn())().then(
    (value): Settled<T> => ({ kind: "value", value }),
    (error): Settled<T> => ({ kind: "threw", error }),
  );
  if (ms > MAX_TIMER_MS) return run;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), ms);
  });
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
