import type { CommandSpec } from "./commands/spec";
import { TABLE } from "./commands/table";
import { GLOBAL_OPTIONS, optionLine } from "./options";
import { findCommand } from "./parse";

/** Help texts, generated from the command table (so `--help`, `help X` and the README agree). */
const GLOBAL = `Global flags (before or after the command):\n${GLOBAL_OPTIONS.map(optionLine).join("\n")}`;

const line = (usage: string, summary: string) => `  dispatch ${usage}\n      ${summary}`;

/** Pure: the main help. */
export function mainHelp(): string {
  const chat = TABLE.fallback;
  return `dispatch — talk to the local Dispatch daemon

Usage:
  dispatch "prompt"                        chat with the default model, tools working in this folder
  dispatch -m <credential>/<model> "prompt"
  dispatch <credential>/<model> "prompt"   (also: -t "prompt", --file <path>, --file -, or stdin)
  cat notes.txt | dispatch "summarize"     stdin is appended to the prompt as context

Chat options:
${chat.options.map(optionLine).join("\n")}

Commands:
${TABLE.commands.map((c) => line(c.usage, c.summary)).join("\n")}

Ids: a unique prefix of a conversation id works anywhere an id does.
Client commands start a daemon in the background when none is running.
Exit codes: 0 ok, 1 failed (also: unknown id), 2 usage, 3 no daemon / not responding, 130 interrupted.
Environment: DISPATCH_HOME (data folder), DISPATCH_CLI_TIMEOUT_MS (how long a call may take before the
daemon counts as not responding; default 15000), NO_COLOR, FORCE_COLOR, TERM=dumb.
Shell completion: dispatch completion bash|zsh|fish.
${GLOBAL}`;
}

function commandHelp(c: CommandSpec): string {
  if (c.helpText) return c.helpText;
  const opts = c.options.length ? `\nOptions:\n${c.options.map(optionLine).join("\n")}\n` : "";
  return `usage: dispatch ${c.usage}\n\n${c.summary}${c.details ? `\n${c.details}` : ""}\n${opts}\n${GLOBAL}`;
}

/** Pure: the help text for a topic (a command name, or a model name / "chat" for chat mode). */
export function helpFor(topic?: string): string {
  if (!topic) return mainHelp();
  const c = findCommand(TABLE, topic);
  if (c) return commandHelp(c);
  if (topic === "chat" || topic.includes("/")) return commandHelp(TABLE.fallback);
  return mainHelp();
}
