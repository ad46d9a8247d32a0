import type { Logger, LogLevel, LogRecord } from "./contract";

/** Discards everything. The default when the composition root injects no logger. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export interface MemoryLogger extends Logger {
  /** Every record written by this logger and all of its children, in order. */
  readonly records: LogRecord[];
}

/** Keeps records in memory, for tests and diagnostics. Children share the parent's `records`. */
export function createMemoryLogger(): MemoryLogger {
  const records: LogRecord[] = [];
  const make = (bindings: Record<string, unknown>): MemoryLogger => {
    const write = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      records.push({ level, msg, fields: { ...bindings, ...fields } });
    };
    return {
      records,
      debug: write("debug"),
      info: write("info"),
      warn: write("warn"),
      error: write("error"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}
