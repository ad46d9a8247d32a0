import { chat } from "../chat";
import { CliError, EXIT } from "../io";
import { grantFrom } from "./chat";
import { gatherPrompt } from "./prompt";
import type { CommandSpec } from "./spec";

export const send: CommandSpec = {
  name: "send",
  usage: 'send <id> "text" [--queue] [--open]',
  summary: "continue a conversation (like dispatch -r <id>; --queue returns at once)",
  details: `With --queue the text is queued when a turn is running (delivered at the next tool boundary or as
the next turn) and the command returns at once. The text may also come with --text, --file or stdin.`,
  positionals: { min: 1, max: Number.POSITIVE_INFINITY, names: "<id> (a unique prefix is enough)" },
  options: ["text", "file", "queue", "open", "show-reasoning", "allow", "yes", "detach"],
  async run(ctx) {
    const [target, ...words] = ctx.args;
    const prompt = await gatherPrompt({ ...ctx, args: words }, "dispatch send", false);
    if (!prompt)
      throw new CliError(
        "dispatch send: the message is empty: give it as an argument, with --text, --file or on stdin",
        EXIT.usage,
      );
    const grant = grantFrom(ctx);
    const conn = await ctx.daemon();
    const id = await ctx.resolveId(conn, target as string);
    if (ctx.values.queue) {
      const res = await conn.http.queue(id, { text: prompt.text });
      if (ctx.values.open) await conn.http.open(id);
      if (ctx.json) ctx.printJson(res);
      else
        ctx.print(
          res.startedTurn ? `started a turn in ${id}` : `queued (${res.queue.length} waiting) in ${id}`,
        );
      return EXIT.ok;
    }
    return chat(
      conn,
      { conversationId: id, message: prompt.text, ...(grant ? { grant } : {}) },
      {
        json: ctx.json,
        open: Boolean(ctx.values.open),
        showReasoning: Boolean(ctx.values["show-reasoning"]),
        detach: Boolean(ctx.values.detach),
      },
      ctx.io,
    );
  },
};
