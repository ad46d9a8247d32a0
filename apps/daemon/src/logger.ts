import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Logger, LogLevel } from "@dispatch/kernel";
import { painter, type Style } from "./color";

/**
 * The daemon's logger: JSON lines to a file with size-based rotation, plus stderr (human-readable with
 * colours on a TTY, concise lines otherwise). Secrets are redacted before anything is written.
 */

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /(token|secret|password|passwd|api[-_]?key|authorization|cookie)/i;
const REDACTED = "[redacted]";

export interface StderrSink {
  write(text: string): void;
  isTTY: boolean;
}

export interface DaemonLoggerOptions {
  level: LogLevel;
  /** JSON-lines file; absent = no file. */
  file?: string;
  /** Rotate when the file passes this many bytes. */
  maxBytes: number;
  /** Rotated files kept (`daemon.log.1` … `daemon.log.<keep>`). */
  keep: number;
  /** Absent = nothing on stderr. */
  stderr?: StderrSink;
  /** Exact strings scrubbed from every message and field (e.g. the token). */
  secrets?: string[];
  now?: () => Date;
}

export interface DaemonLogger extends Logger {
  /** Adds a string to scrub from everything written from now on. */
  addSecret(secret: string): void;
  /** Closes the file; later records go to stderr only. */
  close(): void;
}

/**
 * Pure: replaces the values of secret-named keys (numbers excepted: token counts) and occurrences of
 * known secrets, recursively; errors become plain objects.
 */
export function redact(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === "string") return scrub(value, secrets);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: scrub(value.message, secrets) };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.stack) out.stack = scrub(value.stack, secrets);
    return out;
  }
  if (value === null || typeof value !== "object") return value;
  if (depth > 6) return "[deep]";
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // Counts such as `inputTokens` are numbers; a secret is never one worth hiding behind its key name.
    const hidden = SECRET_KEY.test(k) && v !== undefined && v !== null && typeof v !== "number";
    out[k] = hidden ? REDACTED : redact(v, secrets, depth + 1);
  }
  return out;
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0 && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

const COLORS: Record<LogLevel, Style> = { debug: "gray", info: "cyan", warn: "yellow", error: "red" };

function fieldText(fields: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (k === "ext" || v === undefined) continue;
    if (v && typeof v === "object" && "message" in v && "name" in v) {
      parts.push(`${k}=${String((v as { message: unknown }).message)}`);
      continue;
    }
    const text = typeof v === "string" ? v : JSON.stringify(v);
    parts.push(
      `${k}=${text !== undefined && /\s/.test(text) && typeof v === "string" ? JSON.stringify(v) : text}`,
    );
  }
  return parts.join(" ");
}

/** Pure: one stderr line; `tty` (a terminal that wants colours, see color.ts) adds time and colour. */
export function formatHuman(
  level: LogLevel,
  msg: string,
  fields: Record<string, unknown>,
  tty: boolean,
  time: Date,
): string {
  const ext = typeof fields.ext === "string" ? `${fields.ext}: ` : "";
  const rest = fieldText(fields);
  const tail = rest ? ` ${rest}` : "";
  if (!tty) return `${level} ${ext}${msg}${tail}\n`;
  const hh = time.toTimeString().slice(0, 8);
  const paint = painter(true);
  return `${paint("gray", hh)} ${paint(COLORS[level], level.toUpperCase().padEnd(5))} ${ext}${msg}${paint("gray", tail)}\n`;
}

/** Writes JSON lines to a file, rotating by size. Writes are synchronous so nothing is lost on exit. */
class RotatingFile {
  private fd: number | undefined;
  private size = 0;
  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.open();
  }
  private open(): void {
    this.fd = openSync(this.path, "a", 0o600);
    this.size = fstatSync(this.fd).size;
  }
  write(line: string): void {
    if (this.fd === undefined) return;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    this.size += bytes;
  }
  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const oldest = `${this.path}.${this.keep}`;
    if (existsSync(oldest)) rmSync(oldest, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
    this.open();
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export function createDaemonLogger(opts: DaemonLoggerOptions): DaemonLogger {
  const secrets = [...(opts.secrets ?? [])];
  const min = RANK[opts.level];
  const now = opts.now ?? (() => new Date());
  let file: RotatingFile | undefined = opts.file
    ? new RotatingFile(opts.file, opts.maxBytes, opts.keep)
    : undefined;

  const emit = (
    level: LogLevel,
    msg: string,
    bindings: Record<string, unknown>,
    fields?: Record<string, unknown>,
  ) => {
    if (RANK[level] < min) return;
    const time = now();
    const merged = redact({ ...bindings, ...fields }, secrets) as Record<string, unknown>;
    const cleanMsg = scrub(msg, secrets);
    try {
      file?.write(`${JSON.stringify({ time: time.toISOString(), level, msg: cleanMsg, ...merged })}\n`);
    } catch {
      // A full disk must not take the daemon down; stderr still gets the record.
    }
    if (opts.stderr) {
      try {
        opts.stderr.write(formatHuman(level, cleanMsg, merged, opts.stderr.isTTY, time));
      } catch {
        // stderr closed (e.g. detached parent); nothing better to do.
      }
    }
  };

  const make = (bindings: Record<string, unknown>): Logger => ({
    debug: (m, f) => emit("debug", m, bindings, f),
    info: (m, f) => emit("info", m, bindings, f),
    warn: (m, f) => emit("warn", m, bindings, f),
    error: (m, f) => emit("error", m, bindings, f),
    child: (more) => make({ ...bindings, ...more }),
  });

  const root = make({});
  return {
    ...root,
    addSecret(secret) {
      if (secret) secrets.push(secret);
    },
    close() {
      file?.close();
      file = undefined;
    },
  };
}
