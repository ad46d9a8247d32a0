/**
 * Per request: a debug line (method, route template, status, duration; never the query or body) and
 * the request counter and duration histogram by route and status (children are cached by the registry).
 */
import type { Logger } from "@dispatch/kernel";
import { LATENCY_BUCKETS, type MetricsRegistry } from "@dispatch/metrics/contract";

export type RecordRequest = (method: string, path: string | undefined, status: number, ms: number) => void;

export function requestRecorder(logger: Logger, metrics: MetricsRegistry | undefined): RecordRequest {
  const total = metrics?.counter({
    name: "dispatch_http_requests_total",
    help: "HTTP requests by route template, method and status.",
    labelNames: ["route", "method", "status"],
  });
  const seconds = metrics?.histogram({
    name: "dispatch_http_request_duration_seconds",
    help: "Time to the response headers (a stream's body may go on), by route template.",
    labelNames: ["route"],
    buckets: LATENCY_BUCKETS,
  });
  return (method, path, status, ms) => {
    const route = path ?? "(unmatched)";
    logger.debug("HTTP request", { method, route, status, durationMs: Math.round(ms * 10) / 10 });
    if (!total || !seconds) return;
    total.labels(route, method, String(status)).inc();
    seconds.labels(route).observe(ms / 1000);
  };
}
