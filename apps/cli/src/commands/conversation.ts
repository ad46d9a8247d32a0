import { EXIT } from "../io";
import { intFlag } from "./common";
import type { CommandSpec } from "./spec";

const ID = { min: 1, max: 1, names: "<id> (a unique prefix is enough)" } as const;

export const stop: CommandSpec = {
  name: "stop",
  usage: "stop <id>",
  summary: "stop the conversation's running turn",
  positionals: ID,
  options: [],
  async run(ctx) {
    const conn = await ctx.daemon();
    const id = await ctx.resolveId(conn, ctx.args[0] as string);
    const res = await conn.http.stop(id);
    if (ctx.json) ctx.printJson(res);
    else ctx.print(res.abortedTurn ? `stopped the running turn of ${id}` : `${id} had no running turn`);
    return EXIT.ok;
  },
};

export const open: CommandSpec = {
  name: "open",
  usage: "open <id>",
  summary: "ask every connected frontend to open the conversation",
  positionals: ID,
  options: [],
  async run(ctx) {
    const conn = await ctx.daemon();
    const id = await ctx.resolveId(conn, ctx.args[0] as string);
    const res = await conn.http.open(id);
    if (ctx.json) ctx.printJson(res);
    else ctx.print(`asked connected frontends to open ${id}`);
    return EXIT.ok;
  },
};

export const compact: CommandSpec = {
  name: "compact",
  usage: "compact <id> [--keep N]",
  summary: "summarize older messages, keeping the last N intact",
  positionals: ID,
  options: ["keep"],
  async run(ctx) {
    const keep = intFlag(ctx.values, "keep", 0);
    const conn = await ctx.daemon();
    const id = await ctx.resolveId(conn, ctx.args[0] as string);
    const res = await conn.http.compact(id, keep === undefined ? {} : { keepLastN: keep });
    if (ctx.json) ctx.printJson(res);
    else
      ctx.print(
        `compacted ${id}: ${res.messagesSummarized} messages summarized, ${res.messagesKept} kept (archived copy: ${res.newConversationId})`,
      );
    return EXIT.ok;
  },
};
