import type { Disposer } from "@dispatch/kernel";
import {
  type Counter,
  type CounterChild,
  type Gauge,
  type GaugeChild,
  type Histogram,
  type HistogramChild,
  type HistogramOptions,
  type MetricOptions,
  MetricsError,
  type MetricsRegistry,
} from "./contract";

/**
 * Pure: the metrics registry (no I/O, no clock). Children are plain objects holding numbers, so
 * recording is a field update (a bucket scan for histograms); rendering walks every child once.
 */

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = "counter" | "gauge" | "histogram";

class CounterValue implements CounterChild {
  value = 0;
  inc(by = 1): void {
    if (by > 0) this.value += by;
  }
}

class GaugeValue implements GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

class HistogramValue implements HistogramChild {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

type Child = CounterValue | GaugeValue | HistogramValue;

interface Family {
  kind: Kind;
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets?: readonly number[];
  children: Map<string, { values: readonly string[]; child: Child }>;
  make(): Child;
}

/** Pure: a label value or help text escaped for the text format. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(n)) return "NaN";
  return String(n);
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function renderFamily(f: Family, out: string[]): void {
  out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.kind}`);
  for (const { values, child } of f.children.values()) {
    if (child instanceof HistogramValue) {
      let cumulative = 0;
      child.bounds.forEach((bound, i) => {
        cumulative += child.counts[i] ?? 0;
        out.push(
          `${f.name}_bucket${labelText(f.labelNames, values, `le="${formatNumber(bound)}"`)} ${cumulative}`,
        );
      });
      out.push(`${f.name}_bucket${labelText(f.labelNames, values, 'le="+Inf"')} ${child.count}`);
      out.push(`${f.name}_sum${labelText(f.labelNames, values)} ${formatNumber(child.sum)}`);
      out.push(`${f.name}_count${labelText(f.labelNames, values)} ${child.count}`);
    } else {
      out.push(`${f.name}${labelText(f.labelNames, values)} ${formatNumber(child.value)}`);
    }
  }
}

export function createMetricsRegistry(): MetricsRegistry {
  const families = new Map<string, Family>();
  const hooks = new Set<() => void>();

  function family(kind: Kind, opts: MetricOptions, buckets?: readonly number[]): Family {
    const labelNames = opts.labelNames ?? [];
    const existing = families.get(opts.name);
    if (existing) {
      const same =
        existing.kind === kind &&
        existing.labelNames.join(",") === labelNames.join(",") &&
        (existing.buckets ?? []).join(",") === (buckets ?? []).join(",");
      if (!same) {
        throw new MetricsError(
          "METRICS_CONFLICT",
          `metric "${opts.name}" is already registered as a ${existing.kind} with labels [${existing.labelNames.join(", ")}]`,
        );
      }
      return existing;
    }
    if (!NAME.test(opts.name))
      throw new MetricsError("METRICS_INVALID_NAME", `invalid metric name "${opts.name}"`);
    for (const l of labelNames) {
      if (!LABEL.test(l) || l === "le") {
        throw new MetricsError("METRICS_INVALID_NAME", `invalid label name "${l}" of metric "${opts.name}"`);
      }
    }
    if (buckets?.some((b, i) => i > 0 && b <= (buckets[i - 1] as number))) {
      throw new MetricsError("METRICS_INVALID_NAME", `buckets of "${opts.name}" must be ascending`);
    }
    const make = (): Child =>
      kind === "counter"
        ? new CounterValue()
        : kind === "gauge"
          ? new GaugeValue()
          : new HistogramValue(buckets ?? []);
    const f: Family = { kind, name: opts.name, help: opts.help, labelNames, children: new Map(), make };
    if (buckets) f.buckets = buckets;
    families.set(opts.name, f);
    return f;
  }

  function childOf(f: Family, values: readonly string[]): Child {
    if (values.length !== f.labelNames.length) {
      throw new MetricsError(
        "METRICS_LABEL_COUNT",
        `metric "${f.name}" takes ${f.labelNames.length} label values (${f.labelNames.join(", ")}), got ${values.length}`,
      );
    }
    const key = values.join("\u0000");
    let entry = f.children.get(key);
    if (!entry) {
      entry = { values: [...values], child: f.make() };
      f.children.set(key, entry);
    }
    return entry.child;
  }

  /** A metric without labels records on its single child, created at once so it renders as 0. */
  function bind<C extends Child>(f: Family) {
    const labels = (...values: string[]) => childOf(f, values) as C;
    const unlabelled = f.labelNames.length === 0 ? (childOf(f, []) as C) : undefined;
    const self = (): C => {
      if (!unlabelled) {
        throw new MetricsError(
          "METRICS_LABEL_COUNT",
          `metric "${f.name}" needs labels (${f.labelNames.join(", ")})`,
        );
      }
      return unlabelled;
    };
    return { labels, self };
  }

  return {
    counter(opts): Counter {
      const { labels, self } = bind<CounterValue>(family("counter", opts));
      return { labels, inc: (by) => self().inc(by) };
    },
    gauge(opts): Gauge {
      const { labels, self } = bind<GaugeValue>(family("gauge", opts));
      return { labels, set: (v) => self().set(v), inc: (by) => self().inc(by), dec: (by) => self().dec(by) };
    },
    histogram(opts: HistogramOptions): Histogram {
      const { labels, self } = bind<HistogramValue>(family("histogram", opts, opts.buckets));
      return { labels, observe: (v) => self().observe(v) };
    },
    beforeRender(hook): Disposer {
      hooks.add(hook);
      return () => {
        hooks.delete(hook);
      };
    },
    render(): string {
      for (const hook of [...hooks]) {
        try {
          hook();
        } catch {
          // A failing sampler leaves its gauge at the last value; the scrape still succeeds.
        }
      }
      const out: string[] = [];
      for (const f of families.values()) renderFamily(f, out);
      return `${out.join("\n")}\n`;
    },
  };
}
