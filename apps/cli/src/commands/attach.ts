import type { AgentEvent } from "@dispatch/protocol/types";
import { follow } from "../chat";
import { callTimeoutMs } from "../connection";
import { EXIT } from "../io";
import type { CommandSpec, RunContext } from "./spec";

/**
 * Follows a conversation's running turn: the daemon replays the turn's events from its start, then
 * streams it live, until `turn-sealed`. Subscribes before looking at the status so nothing is missed.
 */
export async function attachTo(ctx: RunContext, id: string): Promise<number> {
  const conn = await ctx.daemon();
  const socket = conn.socket();
  const queue: AgentEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const events: AsyncIterable<AgentEvent> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
  };
  try {
    // A hung daemon accepts the TCP connection and then says nothing: bounded like every other call.
    const subscribed = (async () => {
      await socket.connect();
      await socket.watch(id, (event) => {
        queue.push(event);
        wake?.();
      });
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DOMException("no answer to chat.subscribe", "TimeoutError")),
        callTimeoutMs(ctx.io.env),
      );
    });
    await Promise.race([subscribed, timeout]).finally(() => clearTimeout(timer));
    const status = await conn.http.status(id);
    if (!status.isActive && queue.length === 0) {
      if (ctx.json) ctx.printJson({ conversationId: id, running: false });
      else
        ctx.io.stderr.write(
          `dispatch: no turn is running in ${id}; see its history with: dispatch read ${id.slice(0, 8)}\n`,
        );
      return EXIT.ok;
    }
    return await follow(
      conn,
      id,
      events,
      { json: ctx.json, open: false, showReasoning: Boolean(ctx.values["show-reasoning"]) },
      ctx.io,
      () => {
        ended = true;
        wake?.();
      },
    );
  } finally {
    socket.close();
  }
}

export const attach: CommandSpec = {
  name: "attach",
  usage: "attach <id>",
  summary: "follow a running turn (replayed from its start) to its end",
  details: "Also: dispatch read -f <id>. Ctrl-C stops the turn, as in a chat.",
  positionals: { min: 1, max: 1, names: "<id> (a unique prefix is enough)" },
  options: ["show-reasoning"],
  async run(ctx) {
    const conn = await ctx.daemon();
    return attachTo(ctx, await ctx.resolveId(conn, ctx.args[0] as string));
  },
};
