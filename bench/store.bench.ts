/**
 * Conversation store benchmark (`bun run bench`, or standalone: `bun bench/store.bench.ts [--quick]`).
 *
 * - Append throughput, batched per step (one transaction per step through `appendStep`, validation
 *   included), against plain single-statement INSERT loops on the same file and connection settings.
 * - Latency of a 200-chunk window read at the end of a 100 000-chunk conversation (20 000 quick),
 *   against a full ordered scan of the same conversation (what a key-value prefix scan costs), and
 *   against the same window query on raw rows (what validation and decoding in the store cost).
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type AppendMessage, openConversationStore } from "../packages/conversation-store/src/index";
import { WINDOW_SQL } from "../packages/conversation-store/src/test-support";
import type { Chunk } from "../packages/protocol/src/types";
import { type BenchOptions, type BenchResult, result } from "./types";

const CHUNKS_PER_STEP = 10;
const WINDOW = 200;

/** Step `n` of the synthetic conversation: 9 assistant chunks and one tool result, ~250 bytes each. */
function step(n: number): AppendMessage[] {
  const filler = "lorem ipsum dolor sit amet ".repeat(8);
  const assistant: Chunk[] = [
    { type: "thinking", text: `step ${n}: ${filler}` },
    ...Array.from({ length: 7 }, (_, i): Chunk => ({ type: "text", text: `${n}.${i} ${filler}` })),
    {
      type: "tool-call",
      toolCallId: `call-${n}`,
      toolName: "read_file",
      input: { path: `src/file-${n}.ts` },
    },
  ];
  return [
    { messageId: `a${n}`, role: "assistant", chunks: assistant, turnId: `t${Math.floor(n / 4)}` },
    {
      messageId: `r${n}`,
      role: "tool",
      chunks: [
        {
          type: "tool-result",
          toolCallId: `call-${n}`,
          toolName: "read_file",
          content: filler,
          isError: false,
        },
      ],
    },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Milliseconds of each of `reps` runs of `fn`. */
function time(reps: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** A second connection on the store's file with the store's settings, holding the baseline table. */
function baselineDb(file: string): Database {
  const db = new Database(file, { strict: true });
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run(`CREATE TABLE IF NOT EXISTS baseline (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
          message_id TEXT NOT NULL, role TEXT NOT NULL, chunk TEXT NOT NULL,
          PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID`);
  return db;
}

/** Plain one-row INSERTs into the baseline table: autocommitted each, or one transaction per step. */
function baselineInserter(db: Database) {
  const insert = db.prepare(
    "INSERT INTO baseline (conversation_id, seq, message_id, role, chunk) VALUES (:id, :seq, :m, :role, :chunk)",
  );
  type Row = { m: string; role: string; chunk: string };
  const inStep = db.transaction((id: string, batch: Row[], base: number) => {
    for (const [i, r] of batch.entries()) insert.run({ id, seq: base + i + 1, ...r });
  });
  const seqs = new Map<string, number>();
  return {
    /** Chunks/s for steps [from, from + count) of `step()`, written as rows of conversation `id`. */
    run(id: string, from: number, count: number, perStep: boolean): number {
      const batches: Row[][] = [];
      for (let n = from; n < from + count; n++) {
        batches.push(
          step(n).flatMap((m) =>
            m.chunks.map((c) => ({ m: m.messageId, role: m.role, chunk: JSON.stringify(c) })),
          ),
        );
      }
      let seq = seqs.get(id) ?? 0;
      const start = seq;
      const t0 = performance.now();
      for (const batch of batches) {
        if (perStep) inStep.immediate(id, batch, seq);
        else for (const [i, r] of batch.entries()) insert.run({ id, seq: seq + i + 1, ...r });
        seq += batch.length;
      }
      const seconds = (performance.now() - t0) / 1000;
      seqs.set(id, seq);
      return (seq - start) / seconds;
    },
    close: () => insert.finalize(),
  };
}

/**
 * Each figure is the median over rounds that interleave the measured side and its baselines, so a
 * machine busy with other work slows both alike instead of skewing the ratio.
 */
export async function benchStore(opts: BenchOptions): Promise<BenchResult[]> {
  const total = opts.quick ? 20_000 : 100_000;
  const rounds = 10;
  const stepsPerRound = total / CHUNKS_PER_STEP / rounds;
  const baselineSteps = Math.max(10, Math.floor(stepsPerRound / 4));
  const dir = mkdtempSync(path.join(os.tmpdir(), "dispatch-bench-store-"));
  const file = path.join(dir, "bench.db");
  const store = openConversationStore({ path: file });
  const raw = baselineDb(file);
  const baseline = baselineInserter(raw);
  try {
    // Append: fill the conversation the window figures read from, step by step.
    const appendRates: number[] = [];
    const autocommitRates: number[] = [];
    const rawStepRates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let n = r * stepsPerRound; n < (r + 1) * stepsPerRound; n++) {
        const res = store.appendStep("big", step(n));
        if (!res.ok) throw new Error(`bench append failed: ${res.error.message}`);
      }
      appendRates.push((stepsPerRound * CHUNKS_PER_STEP) / ((performance.now() - t0) / 1000));
      autocommitRates.push(baseline.run("autocommit", r * baselineSteps, baselineSteps, false));
      rawStepRates.push(baseline.run("per-step", r * baselineSteps, baselineSteps, true));
    }

    // Window: the newest 200 chunks through the store vs an ordered scan of the whole conversation.
    const last = store.getConversation("big")?.lastSeq ?? 0;
    if (last !== total) throw new Error(`expected ${total} chunks, found ${last}`);
    const read = () => {
      const w = store.readWindow("big", { sinceSeq: 0, limit: WINDOW });
      if (!w.ok || w.value.chunks.length !== WINDOW || w.value.latestSeq !== total) {
        throw new Error("bench window read returned the wrong window");
      }
    };
    const scan = raw.prepare<{ seq: number }, [string]>(
      "SELECT seq, message_id, role, chunk FROM chunks WHERE conversation_id = ?1 ORDER BY seq",
    );
    const rawWindow = raw.prepare<{ seq: number }, [Record<string, string | number>]>(WINDOW_SQL);
    const readRaw = () => {
      const rows = rawWindow.all({ id: "big", since: 0, before: Number.MAX_SAFE_INTEGER, limit: WINDOW });
      if (rows.length !== WINDOW || rows[0]?.seq !== total) throw new Error("bench raw window is wrong");
    };
    const scanAndTake = () => {
      const rows = scan.all("big").slice(-WINDOW);
      if (rows[0]?.seq !== total - WINDOW + 1) throw new Error("bench scan returned the wrong rows");
    };
    time(20, read); // warm the page cache for both sides alike
    scanAndTake();
    const windowMs: number[] = [];
    const scanMs: number[] = [];
    const rawMs: number[] = [];
    for (let r = 0; r < (opts.quick ? 5 : 9); r++) {
      windowMs.push(...time(opts.quick ? 20 : 40, read));
      rawMs.push(...time(opts.quick ? 20 : 40, readRaw));
      scanMs.push(...time(1, scanAndTake));
    }
    scan.finalize();
    rawWindow.finalize();

    const appendRate = median(appendRates);
    return [
      result(
        "append, batched per step",
        appendRate,
        "chunks/s",
        median(autocommitRates),
        `higher is better; baseline: one autocommitted INSERT per chunk (plain table, same file); ${CHUNKS_PER_STEP} chunks/step, validation included`,
      ),
      result(
        "append vs raw INSERTs per step",
        appendRate,
        "chunks/s",
        median(rawStepRates),
        "higher is better; baseline: the same rows as plain INSERTs in one transaction per step, no validation or bookkeeping",
      ),
      result(
        `${WINDOW}-chunk window at the end of ${total.toLocaleString("en-US")}`,
        median(windowMs),
        "ms (median)",
        median(scanMs),
        "lower is better; baseline: ordered scan of the whole conversation, keeping the last 200 (raw rows, no decoding)",
      ),
      result(
        `${WINDOW}-chunk window vs the raw window query`,
        median(windowMs),
        "ms (median)",
        median(rawMs),
        "lower is better; baseline: the store's own window SQL on a second connection, raw rows (no validation, JSON decoding or chunk schema check)",
      ),
    ];
  } finally {
    baseline.close();
    raw.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { renderTable } = await import("./run");
  const rows = await benchStore({ quick: process.argv.includes("--quick") });
  console.log(renderTable(rows.map((r) => ({ suite: "store", ...r }))));
}
