/**
 * A typed view of `parse-prometheus-text-format` (a third-party parser of the Prometheus text format),
 * so tests check `/metrics` with a real parser instead of a regex. Throws on malformed input.
 */
// @ts-expect-error: the package ships no type declarations; the shape is declared below.
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface ParsedSample {
  value?: string;
  labels?: Record<string, string>;
  /** Histograms: upper bound → cumulative count. */
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
export interface ParsedFamily {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: ParsedSample[];
}

export function parsePrometheus(text: string): ParsedFamily[] {
  return (parsePrometheusTextFormat as (t: string) => ParsedFamily[])(text);
}

/**
 * The samples of every series, histograms' `_bucket` / `_count` / `_sum` included as families of their
 * own with their labels. The parser folds a histogram's series into one entry and drops their labels
 * (a limitation of its flattening), so labelled histograms are read with their TYPE lines declared
 * untyped; the parser still checks every line.
 */
export function parsePrometheusSeries(text: string): ParsedFamily[] {
  const untyped = text
    .split("\n")
    .map((line) =>
      line.startsWith("# TYPE ") && line.endsWith(" histogram") ? `${line.slice(0, -9)}untyped` : line,
    )
    .join("\n");
  // Interleaved series (`_bucket`, `_sum`, `_count` per label set) come back as repeated families.
  const merged = new Map<string, ParsedFamily>();
  for (const f of parsePrometheus(untyped)) {
    const seen = merged.get(f.name);
    if (seen) seen.metrics.push(...f.metrics);
    else merged.set(f.name, { ...f, metrics: [...f.metrics] });
  }
  return [...merged.values()];
}

/** The family named `name`; throws naming the families present when it is missing. */
export function family(families: readonly ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric ${name}; have ${families.map((f) => f.name).join(", ")}`);
  return found;
}

/** The sample of `family` whose labels include `labels` (undefined when none does). */
export function sample(f: ParsedFamily, labels: Record<string, string> = {}): ParsedSample | undefined {
  return f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}
