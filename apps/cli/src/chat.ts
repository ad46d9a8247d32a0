import { createInterface } from "node:readline/promises";
import { type DaemonConnection, DispatchApiError } from "@dispatch/client";
import type { AgentEvent, ChatRequestBody, PermissionDecision } from "@dispatch/protocol/types";
import { CliError, type CliIo, EXIT, isConnectionError, useColor } from "./io";
import { dim, type RenderState, renderEvent } from "./render";

export interface ChatFlags {
  json: boolean;
  open: boolean;
  showReasoning: boolean;
}

/**
 * Chat mode: starts a turn over `POST /chat` and streams it to the terminal until `turn-sealed`,
 * answering permission requests on the way. Leaving early (an error, Ctrl-C at a prompt) lets go of the
 * stream; the turn goes on in the daemon.
 */
export async function chat(
  conn: DaemonConnection,
  body: ChatRequestBody,
  flags: ChatFlags,
  io: CliIo,
): Promise<number> {
  // Everything painted in chat mode goes to stderr (the answer on stdout stays plain for pipes).
  const color = useColor(io.stderr, io.env);
  const connection = new AbortController();
  let res: Awaited<ReturnType<typeof conn.http.chat>>;
  try {
    res = await conn.http.chat(body, { signal: connection.signal });
  } catch (err) {
    if (err instanceof DispatchApiError && err.status === 409) {
      throw new CliError(
        `${err.message} — wait for it, stop it (dispatch stop), or queue with: dispatch send <id> --queue`,
        EXIT.failed,
      );
    }
    throw err;
  }
  const conversationId = res.conversationId;
  if (flags.open) await conn.http.open(conversationId);
  if (!flags.json && io.stderr.isTTY) io.stderr.write(`${dim(color, `conversation ${conversationId}`)}\n`);

  const spinner = io.stderr.isTTY && !flags.json ? startSpinner(io.stderr) : undefined;
  const state: RenderState = { mode: "start" };
  let failed = false;
  try {
    for await (const event of res.events) {
      if (spinner && event.type !== "user-message" && event.type !== "turn-start") spinner.stop();
      if (flags.json) io.stdout.write(`${JSON.stringify(event)}\n`);
      else {
        const out = renderEvent(event, state, { color, showReasoning: flags.showReasoning });
        if (out.stdout) io.stdout.write(out.stdout);
        if (out.stderr) io.stderr.write(out.stderr);
      }
      if (event.type === "error") failed = true;
      if (event.type === "done" && (event.reason === "error" || event.reason === "aborted")) failed = true;
      if (event.type === "permission-request") {
        const answer = await askPermission(event, io);
        const decision = answer === "interrupted" ? "deny" : answer;
        await conn.http.answerPermission(conversationId, event.requestId, decision);
        if (answer === "interrupted") {
          throw new CliError(
            `interrupted: denied ${event.toolName}; the turn goes on in the daemon (follow it with: dispatch read ${conversationId}, stop it with: dispatch stop ${conversationId})`,
            EXIT.interrupted,
          );
        }
      }
    }
  } catch (err) {
    if (isConnectionError(err)) {
      throw new CliError(
        `lost the connection to the daemon during the turn (${err.code}). If the daemon is still running, the turn goes on and is saved whole in ${conversationId}. ` +
          "If it stopped, its finished steps are saved, and of the step in progress everything it had streamed up to " +
          "about 250 ms (or 4 KB) before it stopped is kept, marked interrupted, when it starts again. " +
          `See: dispatch status, dispatch read ${conversationId}`,
        EXIT.unavailable,
      );
    }
    throw err;
  } finally {
    spinner?.stop();
    connection.abort();
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/**
 * Asks on the terminal. Ctrl-D (end of input) denies; Ctrl-C denies and ends the command, since the
 * user wants out and an unanswered request would hold the turn until the daemon's timeout.
 */
async function askPermission(
  event: Extract<AgentEvent, { type: "permission-request" }>,
  io: CliIo,
): Promise<PermissionDecision | "interrupted"> {
  if (!io.stdinIsTTY) {
    io.stderr.write(
      `dispatch: denied ${event.toolName} (stdin is not a terminal, so nobody can answer). ` +
        `Run in a terminal to answer, or allow it in dispatch.toml: [permission-gate] tools = { ${event.toolName} = "allow" }\n`,
    );
    return "deny";
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const input = JSON.stringify(event.input);
    const prompt = `Allow ${event.toolName} ${input.length > 200 ? `${input.slice(0, 200)}…` : input}? [y]es / [n]o / [a]lways: `;
    const answer = await new Promise<string | typeof INTERRUPTED | typeof END_OF_INPUT>((resolve) => {
      rl.on("SIGINT", () => resolve(INTERRUPTED));
      rl.on("close", () => resolve(END_OF_INPUT));
      rl.question(prompt).then(resolve, () => resolve(END_OF_INPUT));
    });
    if (answer === INTERRUPTED) return "interrupted";
    if (answer === END_OF_INPUT) {
      io.stderr.write(`\ndispatch: end of input: denied ${event.toolName}\n`);
      return "deny";
    }
    const a = answer.trim().toLowerCase();
    return a === "y" || a === "yes" ? "allow" : a === "a" || a === "always" ? "always" : "deny";
  } finally {
    rl.close();
  }
}

const INTERRUPTED = Symbol("interrupted");
const END_OF_INPUT = Symbol("end of input");

function startSpinner(stream: { write(s: string): void }): { stop(): void } {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let i = 0;
  let stopped = false;
  const timer = setInterval(
    () => stream.write(`\r${frames[i++ % frames.length]} waiting for the model…`),
    80,
  );
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write("\r\x1b[K");
    },
  };
}
