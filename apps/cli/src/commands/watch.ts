import type { AgentEvent } from "@dispatch/protocol/types";
import { callTimeoutMs } from "../connection";
import { EXIT } from "../io";
import { safeLine } from "../sanitize";
import { intFlag, stringFlag } from "./common";
import type { CommandSpec } from "./spec";

/** Streamed text of one conversation's step, summed into one line (deltas are too many to list). */
interface Pending {
  kind: "text" | "reasoning";
  chars: number;
  head: string;
}

/** What `watchLines` remembers between events: the text being summed per conversation. */
export type WatchState = Map<string, Pending>;

const PREVIEW = 60;

function preview(s: string): string {
  const one = safeLine(s.replace(/\s+/g, " ").trim());
  return one.length > PREVIEW ? `${one.slice(0, PREVIEW)}…` : one;
}

function brief(value: unknown): string {
  return preview(typeof value === "string" ? value : (JSON.stringify(value) ?? ""));
}

/** Pure: the kind column and the rest of one event's line; undefined for deltas (summed instead). */
function describe(event: AgentEvent): [string, string] | undefined {
  switch (event.type) {
    case "text-delta":
    case "reasoning-delta":
      return undefined;
    case "user-message":
      return ["user", `"${preview(event.text)}"`];
    case "turn-start":
      return ["turn-start", ""];
    case "tool-call":
      return ["tool-call", `${safeLine(event.toolName)} ${brief(event.input)}`];
    case "tool-output":
      return ["tool-output", `${event.stream} ${event.data.length} chars`];
    case "tool-result":
      return [
        "tool-result",
        `${safeLine(event.toolName)} ${event.isError ? "error" : "ok"}${event.durationMs === undefined ? "" : ` ${event.durationMs}ms`}`,
      ];
    case "permission-request":
      return ["permission", `${safeLine(event.toolName)} ${safeLine(event.requestId)} asked`];
    case "permission-resolved":
      return ["permission", `${safeLine(event.requestId)} ${event.decision}`];
    case "usage":
      return ["usage", `in ${event.usage.inputTokens} out ${event.usage.outputTokens}`];
    case "step-complete":
      return ["step", safeLine(event.stepId)];
    case "steering":
      return ["steering", `"${preview(event.text)}"`];
    case "provider-retry":
      return ["retry", `attempt ${event.attempt} in ${event.delayMs}ms: ${preview(event.message)}`];
    case "error":
      return [
        "error",
        `${event.code === undefined ? "" : `${safeLine(event.code)} `}${preview(event.message)}`,
      ];
    case "done":
      return ["done", `${event.reason}${event.durationMs === undefined ? "" : ` ${event.durationMs}ms`}`];
    case "turn-sealed":
      return ["turn-sealed", ""];
    case "status":
      return ["status", event.status];
  }
}

/**
 * Pure: the lines one event prints, like `docker events`: time, conversation, kind, details. A run of
 * text (or reasoning) deltas is one `text` line, printed when the next other event of its
 * conversation arrives.
 */
export function watchLines(event: AgentEvent, state: WatchState, now: Date): string[] {
  const cid = event.conversationId;
  const stamp = `${now.toISOString()}  ${safeLine(cid.slice(0, 8))}`;
  const line = (kind: string, rest: string) => `${stamp}  ${kind.padEnd(11)} ${rest}`.trimEnd();
  const pending = state.get(cid);
  if (event.type === "text-delta" || event.type === "reasoning-delta") {
    const kind = event.type === "text-delta" ? "text" : "reasoning";
    if (pending !== undefined && pending.kind === kind) {
      pending.chars += event.delta.length;
      if (pending.head.length < PREVIEW) pending.head += event.delta;
      return [];
    }
    state.set(cid, { kind, chars: event.delta.length, head: event.delta });
    return pending === undefined
      ? []
      : [line(pending.kind, `${pending.chars} chars "${preview(pending.head)}"`)];
  }
  const out: string[] = [];
  if (pending !== undefined) {
    out.push(line(pending.kind, `${pending.chars} chars "${preview(pending.head)}"`));
    state.delete(cid);
  }
  const d = describe(event);
  if (d !== undefined) out.push(line(d[0], d[1]));
  return out;
}

export const watch: CommandSpec = {
  name: "watch",
  usage: "watch [--workspace <id>] [--limit <n>]",
  summary: "every conversation's activity, one line per event (like docker events)",
  details:
    "Running turns are replayed from their start, then every conversation (new ones too) is followed live, across reconnects. --json prints each event as {event, n}, text deltas included. --limit stops after n events. Ctrl-C ends it.",
  positionals: { min: 0, max: 0, names: "" },
  options: ["workspace", "limit"],
  async run(ctx) {
    const limit = intFlag(ctx.values, "limit", 1);
    const workspace = stringFlag(ctx.values, "workspace");
    const conn = await ctx.daemon();
    const socket = conn.socket();
    const state: WatchState = new Map();
    let count = 0;
    const finished = Promise.withResolvers<number>();
    const onEvent = (event: AgentEvent, n: number | undefined) => {
      if (ctx.json) ctx.printJson(n === undefined ? { event } : { event, n });
      else for (const l of watchLines(event, state, new Date())) ctx.print(l);
      if (limit !== undefined && ++count >= limit) finished.resolve(EXIT.ok);
    };
    const onSigint = () => finished.resolve(EXIT.ok);
    process.on("SIGINT", onSigint);
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DOMException("no answer to channel.subscribe", "TimeoutError")),
          callTimeoutMs(ctx.io.env),
        );
      });
      const subscribed = (async () => {
        await socket.connect();
        if (workspace === undefined) await socket.watchAll(onEvent);
        else await socket.watchWorkspace(workspace, onEvent);
      })();
      await Promise.race([subscribed, timeout]).finally(() => clearTimeout(timer));
      return await finished.promise;
    } finally {
      process.off("SIGINT", onSigint);
      socket.close();
    }
  },
};
