import type { DaemonConnection } from "@dispatch/client";
import type { Painter } from "@dispatch/daemon/cli";
import type { CliIo } from "../io";
import type { OptionName } from "../options";

/** Parsed flag values: strings and booleans by option name. */
export type Values = Partial<Record<OptionName, string | boolean>>;

/** What a command's handler gets. Nothing touches the daemon until `daemon()` is called. */
export interface RunContext {
  /** Positionals after the command name (for chat: all of them). */
  args: string[];
  values: Values;
  json: boolean;
  home: string;
  io: CliIo;
  /** Colours for stdout / stderr (color.ts decides). */
  out: Painter;
  err: Painter;
  print(text: string): void;
  /** The help text of a command, or the main help (given by the runner, so commands need not import help.ts). */
  helpFor(topic: string | undefined): string;
  printJson(value: unknown): void;
  /** The daemon of `home`, started in the background when none runs; calls time out (`TimeoutError`). */
  daemon(): Promise<DaemonConnection>;
  /** A full conversation id from an id or unique prefix (CliError exit 1 when none or several match). */
  resolveId(conn: DaemonConnection, input: string): Promise<string>;
}

/**
 * One command of the table. Adding a command is one entry in commands/table.ts plus its handler file
 * exporting a CommandSpec: help, "did you mean", completion and the README check follow from it.
 */
export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  /** `read <id> [--since <seq>]`: shown after `dispatch ` in help. */
  usage: string;
  /** One line for the main help. */
  summary: string;
  /** More help text for `dispatch help <name>`. */
  details?: string;
  /** Positional arguments: how many at least and at most. */
  positionals: { min: number; max: number; names: string };
  options: readonly OptionName[];
  /** The whole help text, when not generated (serve prints the daemon's own usage). */
  helpText?: string;
  /** Arguments are passed through untouched (serve parses its own). */
  passThrough?: true;
  run(ctx: RunContext): Promise<number>;
}
