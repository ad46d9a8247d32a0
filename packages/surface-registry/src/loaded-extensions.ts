import type { ExtensionInfo, HostIntrospection } from "@dispatch/kernel";
import {
  LOADED_EXTENSIONS_SURFACE_ID,
  type SurfaceProvider,
  type SurfaceSpec,
  unknownAction,
} from "./contract";

export interface LoadedExtensionsOptions {
  /** Where the frontend shows it; default "sidebar". */
  region?: string;
  title?: string;
}

/**
 * Pure: one extension's row value: state, version, then how long activation took (active) or why it is
 * disabled, e.g. "active · v0.1.0 · 3 ms" or "disabled · v0.1.0: <reason>".
 */
export function describeExtension(info: ExtensionInfo): string {
  switch (info.state) {
    case "active":
      return info.activationMs === undefined
        ? `active · v${info.version}`
        : `active · v${info.version} · ${formatMs(info.activationMs)}`;
    case "disabled":
      return `disabled · v${info.version}: ${info.disabledReason ?? "unknown reason"}`;
    default:
      return `${info.state} · v${info.version}`;
  }
}

/** Pure: a duration for people: "<1 ms", "3 ms", "1.2 s". */
export function formatMs(ms: number): string {
  if (ms < 0.5) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The built-in global surface `loaded-extensions`: one `stat` row per extension (label = id), in the
 * host's manifest order, updated whenever an extension changes state. It has no actions.
 */
export function loadedExtensionsSurface(
  host: HostIntrospection,
  opts: LoadedExtensionsOptions = {},
): SurfaceProvider {
  const catalogEntry = {
    id: LOADED_EXTENSIONS_SURFACE_ID,
    region: opts.region ?? "sidebar",
    title: opts.title ?? "Loaded extensions",
    scope: "global" as const,
  };
  return {
    catalogEntry,
    getSpec(): SurfaceSpec {
      const { id, region, title } = catalogEntry;
      const fields = host
        .extensions()
        .map((e) => ({ kind: "stat" as const, label: e.id, value: describeExtension(e) }));
      return { id, region, title, fields };
    },
    invoke(actionId) {
      throw unknownAction(actionId);
    },
    subscribe: (onChange) => host.onExtensionsChanged(() => onChange()),
  };
}
