import { parseArgs } from "node:util";
import type { CommandSpec, Values } from "./commands/spec";
import { GLOBAL_OPTIONS, OPTIONS, type OptionName, type OptionSpec } from "./options";

/**
 * Pure: argv (after `dispatch`) → which command, its positionals and flag values, or a usage error
 * naming the flag or argument that is wrong. Global flags may come before or after the command.
 */
export type ParseOutcome =
  | { ok: true; spec: CommandSpec; args: string[]; values: Values; json: boolean; home?: string }
  | { ok: false; message: string; topic?: string; json: boolean };

export interface CommandTable {
  commands: readonly CommandSpec[];
  /** What runs when argv names no command: chat. */
  fallback: CommandSpec;
  help: CommandSpec;
  version: CommandSpec;
}

const ALL = Object.entries(OPTIONS) as [OptionName, OptionSpec][];
const TAKES_VALUE_LONG = new Set(ALL.filter(([, o]) => o.type === "string").map(([n]) => `--${n}`));
const TAKES_VALUE_SHORT = new Set(
  ALL.filter(([, o]) => o.type === "string" && o.short).map(([, o]) => `-${o.short}`),
);

/** Pure: the index of the first positional in argv (skipping flags and their values), or -1. */
export function headIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") return i + 1 < argv.length ? i + 1 : -1;
    if (a === "-" || !a.startsWith("-")) return i;
    if (a.includes("=")) continue;
    if (TAKES_VALUE_LONG.has(a) || TAKES_VALUE_SHORT.has(a)) i++;
  }
  return -1;
}

export function findCommand(table: CommandTable, name: string): CommandSpec | undefined {
  return table.commands.find((c) => c.name === name || c.aliases?.includes(name));
}

/** Pure: optimal string alignment distance (a transposition counts one). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 0; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** Pure: the command a mistyped word most likely meant (short names tolerate one edit, longer two). */
export function didYouMean(word: string, table: CommandTable): string | undefined {
  if (word.length < 3 || /[\s/]/.test(word)) return undefined;
  let best: { name: string; d: number } | undefined;
  for (const c of [...table.commands, table.help, table.version]) {
    for (const name of [c.name, ...(c.aliases ?? [])]) {
      const d = editDistance(word.toLowerCase(), name);
      const limit = name.length <= 4 ? 1 : 2;
      if (d > 0 && d <= limit && (!best || d < best.d)) best = { name: c.name, d };
    }
  }
  return best?.name;
}

function parseFlags(argv: string[], names: readonly OptionName[]) {
  const options = Object.fromEntries(names.map((n) => [n, OPTIONS[n]]));
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

function flagError(err: unknown, where: string): string {
  const raw = (err as Error).message;
  const unknown = /Unknown option '([^']+)'/.exec(raw);
  if (unknown) return `${where}: unknown option ${unknown[1]}`;
  const missing =
    /Option '([^']+)' argument missing/.exec(raw) ?? /Option '(-\S+)[^']*' argument missing/.exec(raw);
  if (missing) return `${where}: ${missing[1]} needs a value`;
  return `${where}: ${raw.replace(/^TypeError \[[A-Z_]+\]: /, "").split(". To specify")[0]}`;
}

export function parseCommand(argv: string[], table: CommandTable): ParseOutcome {
  const json = argv.includes("--json");
  const at = headIndex(argv);
  const head = at >= 0 ? (argv[at] as string) : undefined;
  const named = head === undefined ? undefined : findCommand(table, head);

  if (named?.passThrough) {
    // `dispatch [global flags] serve [its own flags]`: only the part before the name is ours.
    let before: ReturnType<typeof parseFlags>;
    try {
      before = parseFlags(argv.slice(0, at), GLOBAL_OPTIONS);
    } catch (err) {
      return { ok: false, message: flagError(err, "dispatch"), json };
    }
    const rest = argv.slice(at + 1).filter((a) => a !== "--json");
    const home = before.values.home as string | undefined;
    return {
      ok: true,
      spec: named,
      args: rest,
      values: before.values as Values,
      json,
      ...(home ? { home } : {}),
    };
  }

  const spec = named ?? table.fallback;
  const where = named ? `dispatch ${named.name}` : "dispatch";
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv, [
      ...GLOBAL_OPTIONS,
      ...spec.options.filter((o) => !GLOBAL_OPTIONS.includes(o)),
    ]);
  } catch (err) {
    return { ok: false, message: flagError(err, where), topic: named?.name, json };
  }
  const values = parsed.values as Values;
  const home = typeof values.home === "string" ? values.home : undefined;
  const base = { json, ...(home ? { home } : {}) };
  if (values.version) return { ok: true, spec: table.version, args: [], values, ...base };
  const positionals = parsed.positionals;
  if (values.help) {
    const topic = named ? named.name : positionals[0];
    return { ok: true, spec: table.help, args: topic ? [topic] : [], values, ...base };
  }
  if (named) {
    const args = positionals.slice(1);
    const { min, max, names } = named.positionals;
    if (args.length > max)
      return { ok: false, message: `${where}: unexpected argument "${args[max]}"`, topic: named.name, json };
    if (args.length < min)
      return { ok: false, message: `${where}: missing ${names}`, topic: named.name, json };
    return { ok: true, spec: named, args, values, ...base };
  }
  if (
    head !== undefined &&
    positionals.length === 1 &&
    values.text === undefined &&
    values.file === undefined
  ) {
    const meant = didYouMean(head, table);
    if (meant) return { ok: false, message: `unknown command "${head}"; did you mean "${meant}"?`, json };
  }
  // Chat; with nothing to say at all, the chat handler prints the help.
  return { ok: true, spec: table.fallback, args: positionals, values, ...base };
}
