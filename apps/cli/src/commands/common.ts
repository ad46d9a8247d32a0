import { CliError, EXIT } from "../io";
import type { OptionName } from "../options";
import type { Values } from "./spec";

/** A `--name <n>` integer ≥ min, or undefined when absent; a usage error otherwise. */
export function intFlag(values: Values, name: OptionName, min: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) < min)
    throw new CliError(`--${name} must be an integer ≥ ${min}, got "${String(raw)}"`, EXIT.usage);
  return Number(raw);
}

export function stringFlag(values: Values, name: OptionName): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** Pure: epoch ms as local time with its zone, e.g. `2026-12-03 07:05 +01:00`. */
export function localTime(ms: number, timeZoneOffsetMin = new Date(ms).getTimezoneOffset()): string {
  const d = new Date(ms - timeZoneOffsetMin * 60_000);
  const off = -timeZoneOffsetMin;
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${d.toISOString().replace("T", " ").slice(0, 16)} ${zone}`;
}
