import type { Disposer } from "@dispatch/kernel";
import type { MetricsRegistry } from "./contract";

/** How often the event loop is probed: a timer's lateness is the delay it suffered. */
const EVENT_LOOP_PROBE_MS = 250;

const DELAY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Process metrics: resident memory (sampled at each scrape) and event-loop delay (a repeating timer's
 * lateness, as a histogram plus the worst delay since the previous scrape). The probe's timer is
 * unref'd, so it never keeps the process alive. Returns the disposer that stops the probe.
 */
export function registerProcessMetrics(registry: MetricsRegistry, probeMs = EVENT_LOOP_PROBE_MS): Disposer {
  const rss = registry.gauge({
    name: "dispatch_process_resident_memory_bytes",
    help: "Resident set size in bytes.",
  });
  const heap = registry.gauge({
    name: "dispatch_process_heap_used_bytes",
    help: "JavaScript heap in use, in bytes.",
  });
  const delay = registry.histogram({
    name: "dispatch_event_loop_delay_seconds",
    help: `How late a ${probeMs} ms timer fired: time the event loop was busy with other work.`,
    buckets: DELAY_BUCKETS,
  });
  const worst = registry.gauge({
    name: "dispatch_event_loop_delay_max_seconds",
    help: "The longest event-loop delay observed since the previous scrape.",
  });
  let max = 0;
  let expected = performance.now() + probeMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expected) / 1000;
    expected = now + probeMs;
    delay.observe(late);
    if (late > max) max = late;
  }, probeMs);
  timer.unref?.();
  const unhook = registry.beforeRender(() => {
    const mem = process.memoryUsage();
    rss.set(mem.rss);
    heap.set(mem.heapUsed);
    worst.set(max);
    max = 0;
  });
  return () => {
    clearInterval(timer);
    void unhook();
  };
}
