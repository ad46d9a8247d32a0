/**
 * Every flag the CLI knows, once: its parser type, short form and help line. Commands name the flags
 * they accept (commands/table.ts); help, completion and the parser are generated from both.
 */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in help (`<dir>`). */
  arg?: string;
  help: string;
}

export const OPTIONS = {
  // Global: accepted before or after any command.
  json: { type: "boolean", help: "machine-readable output (errors too, as JSON on stderr)" },
  home: {
    type: "string",
    arg: "<dir>",
    help: "data folder (default $DISPATCH_HOME or the per-user state folder)",
  },
  help: { type: "boolean", short: "h", help: "show help" },
  version: { type: "boolean", short: "v", help: "print the version" },
  // Chat.
  model: {
    type: "string",
    short: "m",
    arg: "<model>",
    help: "model as <credential>/<model> (default: the daemon's)",
  },
  text: { type: "string", short: "t", arg: "<text>", help: "the message (or give it as an argument)" },
  file: { type: "string", short: "f", arg: "<path>", help: "append a file to the message (- reads stdin)" },
  cwd: {
    type: "string",
    arg: "<dir>",
    help: "working directory of the agent's tools (default: this folder)",
  },
  continue: {
    type: "boolean",
    short: "c",
    help: "continue the most recent conversation (of this folder, if any)",
  },
  resume: {
    type: "string",
    short: "r",
    arg: "<id>",
    help: "continue the conversation with this id (prefix)",
  },
  conversation: { type: "string", arg: "<id>", help: "same as --resume" },
  effort: { type: "string", arg: "<level>", help: "reasoning effort: low, medium, high, xhigh, max" },
  workspace: {
    type: "string",
    short: "w",
    arg: "<id>",
    help: "workspace (of a new conversation; a filter in list)",
  },
  "show-reasoning": { type: "boolean", help: "print the model's reasoning as it streams" },
  open: { type: "boolean", help: "ask connected frontends to open the conversation" },
  allow: { type: "string", arg: "<tool,…>", help: "allow these tools without asking, for this turn only" },
  yes: { type: "boolean", short: "y", help: "allow every tool without asking, for this turn only" },
  detach: { type: "boolean", short: "d", help: "start the turn, print its conversation id and return" },
  // Other commands.
  queue: { type: "boolean", help: "queue the text if a turn is running and return at once" },
  status: { type: "string", arg: "<s1,s2>", help: "only these statuses: active, queued, idle, closed" },
  all: { type: "boolean", help: "include closed conversations" },
  limit: { type: "string", arg: "<n>", help: "at most n entries" },
  since: { type: "string", arg: "<seq>", help: "only chunks after this sequence number" },
  follow: { type: "boolean", short: "f", help: "then follow a running turn to its end (like attach)" },
  keep: { type: "string", arg: "<n>", help: "keep the last n messages intact" },
  expires: {
    type: "string",
    arg: "<time>",
    help: "share: lifetime like 30m, 2h, 7d (default 1d, at most 30d)",
  },
  label: { type: "string", arg: "<text>", help: "share: a label to tell shares apart" },
  list: { type: "boolean", help: "share: list live shares (of one conversation, or of all)" },
  revoke: { type: "string", arg: "<shareId>", help: "share: revoke this share (its viewers are closed)" },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

export const GLOBAL_OPTIONS: readonly OptionName[] = ["json", "home", "help", "version"];

/** Pure: the help line of one option, e.g. `  -t, --text <text>   the message`. */
export function optionLine(name: OptionName): string {
  const o: OptionSpec = OPTIONS[name];
  const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.arg ? ` ${o.arg}` : ""}`;
  return `  ${flag.padEnd(28)} ${o.help}`;
}
