/** One measured figure, printed next to a baseline measured in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The same quantity measured for the baseline in the same run (same process or same machine, same minute). */
  baseline: number;
  /** value / baseline (for "higher is better" units) — see `higherIsBetter`. */
  ratio: number;
  /** What the baseline is, and anything else a reader needs to interpret the row. */
  note?: string;
}

export interface BenchOptions {
  quick: boolean;
}

/** Pure: builds a row, computing the ratio (guarding against a zero baseline). */
export function result(
  name: string,
  value: number,
  unit: string,
  baseline: number,
  note?: string,
): BenchResult {
  const ratio = baseline === 0 ? Number.NaN : value / baseline;
  return note === undefined
    ? { name, value, unit, baseline, ratio }
    : { name, value, unit, baseline, ratio, note };
}
