import { PAIR_HELP, runPair } from "../pair";
import type { CommandSpec } from "./spec";

/** `dispatch pair`: its handler (pair.ts) parses its own flags; global ones are handed back to it. */
export const pair: CommandSpec = {
  name: "pair",
  usage: "pair [--host <name>] | --list | --revoke <id>",
  summary: "pair a browser with the daemon (a one-time URL); --list and --revoke sessions",
  helpText: PAIR_HELP,
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  passThrough: true,
  run: (ctx) =>
    runPair(
      [
        ...(typeof ctx.values.home === "string" ? ["--home", ctx.home] : []),
        ...(ctx.json ? ["--json"] : []),
        ...ctx.args,
      ],
      ctx.io,
    ),
};
