/**
 * Connection metrics and log fields of the WS port: open connections by protocol level, and closes
 * the server forced (slow consumer 4008, rate limit). Separate from the shell so server.ts only calls
 * `opened` / `closed`.
 */
import { type GaugeChild, type MetricsRegistry, NO_METRICS } from "@dispatch/metrics/contract";
import { CloseCodes } from "./contract";
import type { ConnData } from "./fanout";

/** The reason text the shell closes over-the-limit connections with. */
export const RATE_LIMIT_CLOSE_REASON = "rate limit exceeded";

/** Pure: the protocol level of a connection (1 until its `hello` asks for another), for labels and logs. */
export function connectionLevel(data: ConnData): string {
  return String(data.level);
}

/** Pure: why the server closed a connection, if it did so as a protection. */
function forcedCloseReason(code: number, reason: string): "slow-consumer" | "rate-limit" | undefined {
  if (code === CloseCodes.slowConsumer) return "slow-consumer";
  if (code === CloseCodes.policyViolation && reason === RATE_LIMIT_CLOSE_REASON) return "rate-limit";
  return undefined;
}

export interface ConnectionMetrics {
  opened(data: ConnData): void;
  /** The connection's level changed (`hello`): it moves to the new level's count. */
  relevel(data: ConnData): void;
  closed(data: ConnData, code: number, reason: string): void;
}

export function connectionMetrics(metrics: MetricsRegistry | undefined): ConnectionMetrics {
  const registry = metrics ?? NO_METRICS;
  const open = registry.gauge({
    name: "dispatch_ws_connections",
    help: "Open WebSocket connections by protocol level.",
    labelNames: ["level"],
  });
  const forced = registry.counter({
    name: "dispatch_ws_forced_closes_total",
    help: "Connections the server closed to protect itself: slow-consumer (4008) or rate-limit.",
    labelNames: ["reason"],
  });
  forced.labels("slow-consumer");
  forced.labels("rate-limit");
  // The level a connection was counted under: its gauge is decremented there even if the level changed.
  const counted = new WeakMap<ConnData, GaugeChild>();
  return {
    opened(data) {
      const child = open.labels(connectionLevel(data));
      counted.set(data, child);
      child.inc();
    },
    relevel(data) {
      const before = counted.get(data);
      const after = open.labels(connectionLevel(data));
      if (before === undefined || before === after) return;
      before.dec();
      after.inc();
      counted.set(data, after);
    },
    closed(data, code, reason) {
      counted.get(data)?.dec();
      counted.delete(data);
      const why = forcedCloseReason(code, reason);
      if (why) forced.labels(why).inc();
    },
  };
}
