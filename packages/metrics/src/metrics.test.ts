import { expect, test } from "bun:test";
import { createHost } from "@dispatch/kernel";
import { family, parsePrometheus, sample } from "@dispatch/testkit";
import { Metrics, MetricsError } from "./contract";
import { metricsExtension } from "./extension";
import { createMetricsRegistry } from "./metrics";

test("counters, gauges and histograms render in the text format a real parser reads", () => {
  const registry = createMetricsRegistry();
  const requests = registry.counter({
    name: "t_requests_total",
    help: "Requests.\nSecond line",
    labelNames: ["route", "status"],
  });
  requests.labels("/chat", "200").inc();
  requests.labels("/chat", "200").inc(2);
  requests.labels('/we"ird\\path\n', "404").inc();
  requests.labels("/chat", "200").inc(-5); // counters never go down
  const active = registry.gauge({ name: "t_active", help: "Active." });
  active.inc();
  active.inc();
  active.dec();
  const latency = registry.histogram({ name: "t_latency_seconds", help: "Latency.", buckets: [0.1, 1] });
  for (const v of [0.05, 0.5, 0.7, 3, Number.NaN]) latency.observe(v);

  const parsed = parsePrometheus(registry.render());
  const req = family(parsed, "t_requests_total");
  expect(req.type).toBe("COUNTER");
  expect(req.help).toBe("Requests.\nSecond line");
  expect(sample(req, { route: "/chat", status: "200" })?.value).toBe("3");
  expect(sample(req, { route: '/we"ird\\path\n', status: "404" })?.value).toBe("1");
  expect(family(parsed, "t_active").metrics).toEqual([{ value: "1" }]);
  const hist = family(parsed, "t_latency_seconds");
  expect(hist.type).toBe("HISTOGRAM");
  expect(hist.metrics[0]).toMatchObject({
    buckets: { "0.1": "1", "1": "3", "+Inf": "4" },
    count: "4",
    sum: "4.25",
  });
});

test("a child is cached per label values; wrong label counts, bad names and conflicts are coded errors", () => {
  const registry = createMetricsRegistry();
  const c = registry.counter({ name: "t_c", help: "c", labelNames: ["a"] });
  expect(c.labels("x")).toBe(c.labels("x"));
  expect(registry.counter({ name: "t_c", help: "again", labelNames: ["a"] }).labels("x")).toBe(c.labels("x"));
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof MetricsError ? e.code : "other";
    }
    return "none";
  };
  expect(code(() => c.labels())).toBe("METRICS_LABEL_COUNT");
  expect(code(() => c.inc())).toBe("METRICS_LABEL_COUNT");
  expect(code(() => registry.gauge({ name: "t_c", help: "c", labelNames: ["a"] }))).toBe("METRICS_CONFLICT");
  expect(code(() => registry.counter({ name: "bad-name", help: "" }))).toBe("METRICS_INVALID_NAME");
  expect(code(() => registry.histogram({ name: "t_h", help: "", labelNames: ["le"], buckets: [1] }))).toBe(
    "METRICS_INVALID_NAME",
  );
  expect(code(() => registry.histogram({ name: "t_h2", help: "", buckets: [2, 1] }))).toBe(
    "METRICS_INVALID_NAME",
  );
});

test("the extension provides the registry with process metrics, sampled at each render", async () => {
  const host = createHost({ extensions: [metricsExtension()] });
  await host.start();
  await using _ = host;
  const registry = host.get(Metrics);
  const first = parsePrometheus(registry.render());
  expect(Number(family(first, "dispatch_process_resident_memory_bytes").metrics[0]?.value)).toBeGreaterThan(
    0,
  );
  expect(family(first, "dispatch_event_loop_delay_seconds").type).toBe("HISTOGRAM");
  expect(family(first, "dispatch_event_loop_delay_max_seconds").type).toBe("GAUGE");
});
