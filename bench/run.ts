/**
 * `bun run bench` (full) and `bun run bench:quick` (the short version CI runs).
 * Every suite returns rows of { value, baseline, ratio }; this prints one table and writes
 * bench/results/<quick|full>.json with the machine description, so runs can be compared.
 */
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { BenchOptions, BenchResult } from "./types";

type Suite = { name: string; file: string; fn: string };

const suites: Suite[] = [
  { name: "store", file: "./store.bench.ts", fn: "benchStore" },
  { name: "ws", file: "./ws.bench.ts", fn: "benchWs" },
  { name: "daemon", file: "./daemon.bench.ts", fn: "benchDaemon" },
  { name: "watch", file: "./watch.bench.ts", fn: "benchWatch" },
  { name: "relay", file: "./relay.bench.ts", fn: "benchRelay" },
];

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

export function renderTable(rows: (BenchResult & { suite: string })[]): string {
  const header = ["suite", "figure", "value", "baseline", "ratio", "unit", "baseline is"];
  const body = rows.map((r) => [
    r.suite,
    r.name,
    fmt(r.value),
    fmt(r.baseline),
    `${r.ratio.toFixed(2)}x`,
    r.unit,
    r.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

if (import.meta.main) {
  const opts: BenchOptions = { quick: process.argv.includes("--quick") };
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
  const rows: (BenchResult & { suite: string })[] = [];
  for (const suite of suites) {
    if (only && !only.split(",").includes(suite.name)) continue;
    const file = path.join(import.meta.dir, suite.file);
    if (!(await Bun.file(file).exists())) continue;
    const mod = (await import(file)) as Record<string, (o: BenchOptions) => Promise<BenchResult[]>>;
    const run = mod[suite.fn];
    if (!run) throw new Error(`bench suite ${suite.file} does not export ${suite.fn}`);
    console.error(`bench: running ${suite.name}${opts.quick ? " (quick)" : ""}…`);
    for (const r of await run(opts)) rows.push({ suite: suite.name, ...r });
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    bun: Bun.version,
  };
  console.log(renderTable(rows));
  console.log(
    `\nmachine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.platform}, Bun ${machine.bun}`,
  );
  const outDir = path.join(import.meta.dir, "results");
  await mkdir(outDir, { recursive: true });
  const out = path.join(outDir, `${opts.quick ? "quick" : "full"}.json`);
  await Bun.write(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), quick: opts.quick, machine, results: rows }, null, 2)}\n`,
  );
  console.error(`bench: wrote ${path.relative(process.cwd(), out)}`);
}
