import type { DaemonConnection } from "@dispatch/client";
import type { ShareSummary } from "@dispatch/protocol/types";
import { CliError, EXIT } from "../io";
import { localTime, stringFlag } from "./common";
import type { CommandSpec, RunContext } from "./spec";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const MAX_SEC = 30 * 86400;

/** Pure: `--expires` (`90s`, `30m`, `2h`, `7d`, or seconds) as seconds; a usage error otherwise. */
export function parseExpires(raw: string): number {
  const m = /^(\d+)\s*([smhd]?)$/i.exec(raw.trim());
  const secs = m === null ? Number.NaN : Number(m[1]) * (UNITS[(m[2] || "s").toLowerCase()] as number);
  if (!Number.isSafeInteger(secs) || secs < 1)
    throw new CliError(`--expires must be a duration like 30m, 2h or 7d, got "${raw}"`, EXIT.usage);
  if (secs > MAX_SEC) throw new CliError(`--expires must be at most 30d, got "${raw}"`, EXIT.usage);
  return secs;
}

async function listShares(
  ctx: RunContext,
  conn: DaemonConnection,
  only: string | undefined,
): Promise<number> {
  const ids =
    only !== undefined
      ? [await ctx.resolveId(conn, only)]
      : (
          await conn.http.listConversations({ status: ["active", "queued", "idle", "closed"], limit: 500 })
        ).conversations.map((c) => c.id);
  const rows: (ShareSummary & { conversationId: string })[] = [];
  for (const id of ids)
    for (const s of (await conn.http.listShares(id)).shares) rows.push({ ...s, conversationId: id });
  if (ctx.json) {
    ctx.printJson({ shares: rows });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    ctx.print("no live shares");
    return EXIT.ok;
  }
  for (const r of rows)
    ctx.print(
      `${r.shareId}  ${r.conversationId.slice(0, 8)}  expires ${localTime(r.expiresAt)}  ${r.viewers} viewer${r.viewers === 1 ? "" : "s"}${r.label === undefined ? "" : `  ${r.label}`}`,
    );
  return EXIT.ok;
}

/** `dispatch share <id> [--expires 2h] [--label x]`, `share --list [<id>]`, `share --revoke <shareId>`. */
export const share: CommandSpec = {
  name: "share",
  usage: "share <id> [--expires 2h] [--label <text>] | --list [<id>] | --revoke <shareId>",
  summary: "share a conversation read-only (prints a viewer URL); --list and --revoke shares",
  details:
    "The URL opens a read-only viewer page: history and the live turn. Whoever holds it can watch the\n" +
    "conversation (nothing else) until it expires or is revoked; the secret after # is shown only once.",
  positionals: { min: 0, max: 1, names: "<id> (a unique prefix is enough)" },
  options: ["expires", "label", "list", "revoke"],
  async run(ctx) {
    const revoke = stringFlag(ctx.values, "revoke");
    const list = ctx.values.list === true;
    const id = ctx.args[0];
    if (revoke !== undefined && (list || id !== undefined))
      throw new CliError("share --revoke <shareId> takes no conversation id and no --list", EXIT.usage);
    if (!list && revoke === undefined && id === undefined)
      throw new CliError("share needs a conversation id (or --list, or --revoke <shareId>)", EXIT.usage);
    const expires = stringFlag(ctx.values, "expires");
    const label = stringFlag(ctx.values, "label");
    if ((list || revoke !== undefined) && (expires !== undefined || label !== undefined))
      throw new CliError("--expires and --label only go with share <id>", EXIT.usage);
    const expiresInSec = expires === undefined ? undefined : parseExpires(expires);
    const conn = await ctx.daemon();
    if (revoke !== undefined) {
      const res = await conn.http.revokeShare(revoke);
      if (ctx.json) ctx.printJson(res);
      else ctx.print(`revoked share ${res.shareId} (its viewers were closed)`);
      return EXIT.ok;
    }
    if (list) return listShares(ctx, conn, id);
    const cid = await ctx.resolveId(conn, id as string);
    const body: { expiresInSec?: number; label?: string } = {};
    if (expiresInSec !== undefined) body.expiresInSec = expiresInSec;
    if (label !== undefined) body.label = label;
    const res = await conn.http.createShare(cid, body);
    if (ctx.json) ctx.printJson({ conversationId: cid, ...res });
    else {
      ctx.print(res.url);
      ctx.io.stderr.write(
        `read-only link to ${cid.slice(0, 8)}, expires ${localTime(res.expiresAt)}; revoke: dispatch share --revoke ${res.shareId}\n`,
      );
    }
    return EXIT.ok;
  },
};
