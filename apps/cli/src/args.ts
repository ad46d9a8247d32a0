import { parseArgs } from "node:util";
import type { ConversationStatus, ReasoningEffort } from "@dispatch/protocol/types";

/**
 * The command line as a closed union. `parseCommand` is pure: argv in, a command or a usage error out
 * (the message names the flag or argument that is wrong). Nothing here touches the daemon.
 */
export interface GlobalFlags {
  json: boolean;
  home?: string;
}

export type Command =
  | { kind: "help"; topic?: string }
  | { kind: "version" }
  | { kind: "serve"; argv: string[] }
  | { kind: "status" }
  | { kind: "stop-daemon" }
  | { kind: "models" }
  | { kind: "list"; status?: ConversationStatus[]; workspace?: string; all: boolean; limit?: number }
  | { kind: "read"; id: string; sinceSeq?: number; limit?: number }
  | { kind: "send"; id: string; text: string; queue: boolean; open: boolean; showReasoning: boolean }
  | { kind: "stop"; id: string }
  | { kind: "open"; id: string }
  | { kind: "compact"; id: string; keepLastN?: number }
  | ({ kind: "chat"; model: string } & ChatOptions);

export interface ChatOptions {
  text: string;
  conversation?: string;
  cwd?: string;
  effort?: ReasoningEffort;
  workspace?: string;
  showReasoning: boolean;
  open: boolean;
}

export type ParseOutcome =
  | { ok: true; command: Command; flags: GlobalFlags }
  | { ok: false; message: string; topic?: string };

const STATUSES: readonly ConversationStatus[] = ["active", "queued", "idle", "closed"];
const EFFORTS: readonly ReasoningEffort[] = ["low", "medium", "high", "xhigh", "max"];

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  json: { type: "boolean" },
  home: { type: "string" },
  text: { type: "string", short: "t" },
  file: { type: "string", short: "f" },
  cwd: { type: "string" },
  conversation: { type: "string", short: "c" },
  effort: { type: "string" },
  workspace: { type: "string", short: "w" },
  "show-reasoning": { type: "boolean" },
  open: { type: "boolean" },
  queue: { type: "boolean" },
  status: { type: "string" },
  all: { type: "boolean" },
  limit: { type: "string" },
  since: { type: "string" },
  keep: { type: "string" },
} as const;

export const COMMANDS = [
  "serve",
  "status",
  "stop-daemon",
  "models",
  "list",
  "read",
  "send",
  "stop",
  "open",
  "compact",
  "help",
] as const;

function int(name: string, raw: string | undefined, min: number): number | undefined | string {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min) return `--${name} must be an integer ≥ ${min}, got "${raw}"`;
  return Number(raw);
}

/** Pure: argv (after `dispatch`) → command. `fileText` supplies the contents of `--file` (read by the caller). */
export function parseCommand(
  argv: string[],
  readFile: (path: string) => string | Error = () => "",
): ParseOutcome {
  if (argv[0] === "serve")
    return { ok: true, command: { kind: "serve", argv: argv.slice(1) }, flags: { json: false } };
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; args: string[] }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return { ok: false, message: (err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, "") };
  }
  const { values: v, positionals } = parsed;
  const flags: GlobalFlags = { json: v.json ?? false };
  if (v.home !== undefined) flags.home = v.home;
  const [head, ...rest] = positionals;
  if (v.version) return { ok: true, command: { kind: "version" }, flags };
  if (head === undefined) return { ok: true, command: { kind: "help" }, flags };
  if (head === "help")
    return { ok: true, command: rest[0] ? { kind: "help", topic: rest[0] } : { kind: "help" }, flags };
  if (v.help) return { ok: true, command: { kind: "help", topic: head }, flags };

  const needId = (what: string): string | { error: string } =>
    rest[0] ?? { error: `dispatch ${what}: missing conversation id (a unique prefix is enough)` };
  const extra = (count: number, what: string): string | undefined =>
    rest.length > count ? `dispatch ${what}: unexpected argument "${rest[count]}"` : undefined;
  const text = (): string | { error: string } | undefined => {
    if (v.file !== undefined) {
      const content = readFile(v.file);
      if (content instanceof Error) return { error: `--file ${v.file}: ${content.message}` };
      return v.text ? `${v.text}\n\n${content}` : content;
    }
    return v.text;
  };
  const fail = (message: string): ParseOutcome => ({ ok: false, message, topic: head });

  switch (head) {
    case "status":
    case "stop-daemon":
    case "models": {
      const e = extra(0, head);
      return e ? fail(e) : { ok: true, command: { kind: head }, flags };
    }
    case "list": {
      const e = extra(0, head);
      if (e) return fail(e);
      const limit = int("limit", v.limit, 1);
      if (typeof limit === "string") return fail(limit);
      const command: Command = { kind: "list", all: v.all ?? false };
      if (v.status !== undefined) {
        const statuses = v.status.split(",").map((s) => s.trim());
        const bad = statuses.find((s) => !STATUSES.includes(s as ConversationStatus));
        if (bad !== undefined) return fail(`--status: "${bad}" is not one of ${STATUSES.join(", ")}`);
        command.status = statuses as ConversationStatus[];
      }
      if (v.workspace !== undefined) command.workspace = v.workspace;
      if (limit !== undefined) command.limit = limit;
      return { ok: true, command, flags };
    }
    case "read": {
      const id = needId(head);
      if (typeof id !== "string") return fail(id.error);
      const e = extra(1, head);
      if (e) return fail(e);
      const since = int("since", v.since, 0);
      const limit = int("limit", v.limit, 1);
      if (typeof since === "string") return fail(since);
      if (typeof limit === "string") return fail(limit);
      const command: Command = { kind: "read", id };
      if (since !== undefined) command.sinceSeq = since;
      if (limit !== undefined) command.limit = limit;
      return { ok: true, command, flags };
    }
    case "send": {
      const id = needId(head);
      if (typeof id !== "string") return fail(id.error);
      const e = extra(1, head);
      if (e) return fail(e);
      const t = text();
      if (typeof t === "object") return fail(t.error);
      if (!t?.trim()) return fail("dispatch send: --text (or --file) is required and must not be empty");
      return {
        ok: true,
        command: {
          kind: "send",
          id,
          text: t,
          queue: v.queue ?? false,
          open: v.open ?? false,
          showReasoning: v["show-reasoning"] ?? false,
        },
        flags,
      };
    }
    case "stop":
    case "open": {
      const id = needId(head);
      if (typeof id !== "string") return fail(id.error);
      const e = extra(1, head);
      return e ? fail(e) : { ok: true, command: { kind: head, id }, flags };
    }
    case "compact": {
      const id = needId(head);
      if (typeof id !== "string") return fail(id.error);
      const e = extra(1, head);
      if (e) return fail(e);
      const keep = int("keep", v.keep, 0);
      if (typeof keep === "string") return fail(keep);
      return {
        ok: true,
        command: keep === undefined ? { kind: "compact", id } : { kind: "compact", id, keepLastN: keep },
        flags,
      };
    }
    default: {
      // Chat mode: `dispatch <model> --text …`
      const e = extra(0, "<model>");
      if (e) return fail(e);
      if (!head.includes("/")) {
        return {
          ok: false,
          message: `unknown command "${head}". Commands: ${COMMANDS.join(", ")}; or chat with a model: dispatch <credential>/<model> --text "…"`,
        };
      }
      const t = text();
      if (typeof t === "object") return fail(t.error);
      if (!t?.trim()) return fail(`dispatch ${head}: --text (or --file) is required and must not be empty`);
      if (v.effort !== undefined && !EFFORTS.includes(v.effort as ReasoningEffort)) {
        return fail(`--effort: "${v.effort}" is not one of ${EFFORTS.join(", ")}`);
      }
      const command: Command = {
        kind: "chat",
        model: head,
        text: t,
        showReasoning: v["show-reasoning"] ?? false,
        open: v.open ?? false,
      };
      if (v.conversation !== undefined) command.conversation = v.conversation;
      if (v.cwd !== undefined) command.cwd = v.cwd;
      if (v.effort !== undefined) command.effort = v.effort as ReasoningEffort;
      if (v.workspace !== undefined) command.workspace = v.workspace;
      return { ok: true, command, flags };
    }
  }
}
