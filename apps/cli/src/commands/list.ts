import type { ConversationStatus } from "@dispatch/protocol/types";
import { CliError, EXIT } from "../io";
import { safeLine } from "../sanitize";
import { intFlag, localTime, stringFlag } from "./common";
import type { CommandSpec } from "./spec";

const STATUSES: readonly ConversationStatus[] = ["active", "queued", "idle", "closed"];

export const list: CommandSpec = {
  name: "list",
  aliases: ["ls"],
  usage: "list [--status s1,s2] [--workspace <id>] [--all] [--limit N]",
  summary: "list conversations, newest activity first",
  details: "Closed ones are hidden unless --all or --status names them. Times are local, with their zone.",
  positionals: { min: 0, max: 0, names: "" },
  options: ["status", "workspace", "all", "limit"],
  async run({ values, daemon, json, print, printJson, out }) {
    const limit = intFlag(values, "limit", 1);
    const raw = stringFlag(values, "status");
    let status: ConversationStatus[] | undefined = values.all ? undefined : ["active", "queued", "idle"];
    if (raw !== undefined) {
      const statuses = raw.split(",").map((s) => s.trim());
      const bad = statuses.find((s) => !STATUSES.includes(s as ConversationStatus));
      if (bad !== undefined)
        throw new CliError(`--status: "${bad}" is not one of ${STATUSES.join(", ")}`, EXIT.usage);
      status = statuses as ConversationStatus[];
    }
    const workspace = stringFlag(values, "workspace");
    const res = await (await daemon()).http.listConversations({
      ...(status ? { status } : {}),
      ...(workspace ? { workspaceId: workspace } : {}),
      limit: limit ?? 50,
    });
    if (json) printJson(res);
    else if (res.conversations.length === 0) print("no conversations");
    else {
      print(
        out(
          "dim",
          `${"ID".padEnd(8)}  ${"STATUS".padEnd(6)}  ${"LAST ACTIVITY".padEnd(23)}  ${"WORKSPACE".padEnd(10)}  TITLE`,
        ),
      );
      for (const c of res.conversations) {
        print(
          `${safeLine(c.id.slice(0, 8))}  ${c.status.padEnd(6)}  ${localTime(c.lastActivityAt).padEnd(23)}  ${safeLine(c.workspaceId).padEnd(10)}  ${safeLine(c.title)}`,
        );
      }
    }
    return EXIT.ok;
  },
};
