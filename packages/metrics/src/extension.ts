import type { Extension } from "@dispatch/kernel";
import { Metrics } from "./contract";
import { createMetricsRegistry } from "./metrics";
import { registerProcessMetrics } from "./process-metrics";

export const METRICS_EXTENSION_ID = "metrics";

/**
 * Provides the `Metrics` registry with the process metrics (RSS, heap, event-loop delay) registered.
 * Recorders (transports, orchestrator, store) declare `optionalNeeds: [Metrics]` and record
 * through `ctx.tryGet(Metrics)`; without this extension they record into a detached registry.
 */
export function metricsExtension(): Extension {
  return {
    manifest: { id: METRICS_EXTENSION_ID, version: "0.1.0", provides: [Metrics] },
    activate(ctx) {
      const registry = createMetricsRegistry();
      ctx.scope.add(registerProcessMetrics(registry));
      ctx.provide(Metrics, registry);
    },
  };
}
