/**
 * The metrics contract: a registry of counters, gauges and histograms with labels, rendered in the
 * Prometheus text format (exposition format 0.0.4) by `GET /metrics`.
 *
 * Recording is meant for hot paths: a metric's `labels(...)` returns a child bound to those label
 * values, and the child's `inc` / `set` / `observe` allocate nothing. Callers look children up once
 * (per conversation, per route, per model) and keep them. Label values are free text but should come
 * from small sets (codes, routes, model names): every distinct combination is a time series forever.
 */
import { type Disposer, defineService } from "@dispatch/kernel";

export interface CounterChild {
  /** Adds `by` (default 1; negative values are ignored: counters only grow). */
  inc(by?: number): void;
}
export interface GaugeChild {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
}
export interface HistogramChild {
  observe(value: number): void;
}

export interface Metric<C> {
  /** The child for these label values, in the order of `labelNames` (created on first use, then cached). */
  labels(...values: string[]): C;
}
export type Counter = Metric<CounterChild> & CounterChild;
export type Gauge = Metric<GaugeChild> & GaugeChild;
export type Histogram = Metric<HistogramChild> & HistogramChild;

export interface MetricOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`, conventionally prefixed `dispatch_`. */
  name: string;
  help: string;
  labelNames?: readonly string[];
}
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds, ascending; `+Inf` is implied. */
  buckets: readonly number[];
}

export interface MetricsRegistry {
  /**
   * Registering a name twice with the same kind and labels returns the existing metric (extensions
   * restarted in tests, two recorders of one fact); a conflicting re-registration throws
   * MetricsError METRICS_CONFLICT (a wiring bug).
   */
  counter(opts: MetricOptions): Counter;
  gauge(opts: MetricOptions): Gauge;
  histogram(opts: HistogramOptions): Histogram;
  /** Runs before each render, to refresh gauges sampled on demand (RSS, active turns). */
  beforeRender(hook: () => void): Disposer;
  /** The Prometheus text format of every metric. */
  render(): string;
}
export const Metrics = defineService<MetricsRegistry>("metrics/registry");

/** Content type of `render()`'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricsErrorCode = "METRICS_CONFLICT" | "METRICS_INVALID_NAME" | "METRICS_LABEL_COUNT";

export class MetricsError extends Error {
  override readonly name = "MetricsError";
  constructor(
    readonly code: MetricsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Seconds: time to first token, deliveries, request durations. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const ignored = { inc() {}, dec() {}, set() {}, observe() {} };
const ignoredMetric = { ...ignored, labels: () => ignored };

/**
 * A registry that records nothing, for a recorder when no `Metrics` is installed (nothing would scrape
 * it): every metric and child is one shared no-op, `render()` is empty.
 */
export const NO_METRICS: MetricsRegistry = {
  counter: () => ignoredMetric,
  gauge: () => ignoredMetric,
  histogram: () => ignoredMetric,
  beforeRender: () => () => {},
  render: () => "",
};
