export * from "./contract";
export { METRICS_EXTENSION_ID, metricsExtension } from "./extension";
export { createMetricsRegistry, escapeLabel } from "./metrics";
export { registerProcessMetrics } from "./process-metrics";
