import packageJson from "../../package.json";
import { EXIT } from "../io";
import type { CommandTable } from "../parse";
import { attach } from "./attach";
import { chatCommand } from "./chat";
import { completion, completionWords } from "./completion";
import { compact, open, stop } from "./conversation";
import { doctor } from "./doctor";
import { list } from "./list";
import { mcp } from "./mcp";
import { models } from "./models";
import { pair } from "./pair";
import { read } from "./read";
import { relay } from "./relay";
import { send } from "./send";
import { serve } from "./serve";
import { share } from "./share";
import type { CommandSpec } from "./spec";
import { status } from "./status";
import { stopDaemon } from "./stop-daemon";
import { watch } from "./watch";

export const VERSION: string = packageJson.version;

/**
 * THE command table. Adding a command: write its handler file (a CommandSpec) and add it here; the
 * parser, `--help`, `help <name>`, "did you mean", shell completion and the README check all read it.
 */
const COMMANDS: CommandSpec[] = [
  serve,
  status,
  doctor,
  stopDaemon,
  models,
  mcp,
  list,
  read,
  attach,
  watch,
  send,
  stop,
  open,
  compact,
  pair,
  share,
  relay,
  completion(() => completionWords(COMMANDS, chatCommand)),
];

const help: CommandSpec = {
  name: "help",
  usage: "help [command]",
  summary: "show help (also: dispatch <command> --help)",
  positionals: { min: 0, max: 1, names: "" },
  options: [],
  async run({ args, print, helpFor }) {
    print(helpFor(args[0]));
    return EXIT.ok;
  },
};

const version: CommandSpec = {
  name: "version",
  usage: "--version",
  summary: "print the version (also -v)",
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  async run({ json, print, printJson }) {
    if (json) printJson({ version: VERSION });
    else print(VERSION);
    return EXIT.ok;
  },
};

COMMANDS.push(help);

export const TABLE: CommandTable = { commands: COMMANDS, fallback: chatCommand, help, version };
