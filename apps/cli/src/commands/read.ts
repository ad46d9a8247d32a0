import { colorEnabled } from "@dispatch/daemon/cli";
import type { StoredChunk } from "@dispatch/protocol/types";
import { EXIT } from "../io";
import { renderChunk } from "../render";
import { attachTo } from "./attach";
import { intFlag } from "./common";
import type { CommandSpec } from "./spec";

export const read: CommandSpec = {
  name: "read",
  usage: "read <id> [--since <seq>] [--limit N] [-f]",
  summary: "print a conversation's history (-f: then follow a running turn)",
  positionals: { min: 1, max: 1, names: "<id> (a unique prefix is enough)" },
  options: ["since", "limit", "follow"],
  async run(ctx) {
    const since0 = intFlag(ctx.values, "since", 0);
    const limit = intFlag(ctx.values, "limit", 1);
    const conn = await ctx.daemon();
    const id = await ctx.resolveId(conn, ctx.args[0] as string);
    const chunks: StoredChunk[] = [];
    let since = since0 ?? 0;
    const pageSize = 500;
    for (;;) {
      const page = await conn.http.readConversation(id, { sinceSeq: since, limit: limit ?? pageSize });
      // `limit` alone means "the newest k": page forward only when reading everything.
      chunks.push(...page.chunks);
      if (limit !== undefined || page.chunks.length === 0 || page.latestSeq <= since) break;
      since = page.latestSeq;
      if (page.chunks.length < pageSize) break;
    }
    const color = colorEnabled(ctx.io.stdout, ctx.io.env);
    if (ctx.json) ctx.printJson({ conversationId: id, chunks });
    else for (const c of chunks) ctx.print(renderChunk(c, color));
    if (ctx.values.follow) {
      const status = await conn.http.status(id);
      if (status.isActive) return attachTo(ctx, id);
    }
    return EXIT.ok;
  },
};
