import { createInterface } from "node:readline/promises";
import { type DaemonConnection, DispatchApiError } from "@dispatch/client";
import { colorEnabled } from "@dispatch/daemon/cli";
import type { AgentEvent, ChatRequestBody, PermissionDecision, Usage } from "@dispatch/protocol/types";
import { callTimeoutMs } from "./connection";
import { CliError, type CliIo, EXIT, isConnectionError } from "./io";
import { dim, type RenderState, renderEvent } from "./render";
import { safeLine, wrapAll } from "./sanitize";

export interface ChatFlags {
  json: boolean;
  open: boolean;
  showReasoning: boolean;
  /** Start the turn, print its id and return; the turn goes on in the daemon. */
  detach?: boolean;
}

/** `dispatch -r <prefix> "…"`: how to continue, with a prefix that is short but still readable. */
const continueHint = (id: string) => `dispatch -r ${id.slice(0, 8)} "…"`;

/**
 * Chat mode: starts a turn over `POST /chat` and streams it until `turn-sealed`, answering permission
 * requests on the way. The first Ctrl-C stops the turn in the daemon and, once it is sealed, says how to
 * continue (exit 130); a second one exits at once. Under `--json` the events are JSON lines, then one
 * `{"type":"result", conversationId, text, usage, reason}` line.
 */
export async function chat(
  conn: DaemonConnection,
  body: ChatRequestBody,
  flags: ChatFlags,
  io: CliIo,
): Promise<number> {
  // Everything painted in chat mode goes to stderr (the answer on stdout stays plain for pipes).
  const color = colorEnabled(io.stderr, io.env);
  const connection = new AbortController();
  // The stream may stay quiet for long, but its response must come as fast as any other call's.
  const noAnswer = setTimeout(
    () => connection.abort(new DOMException("no response to POST /chat", "TimeoutError")),
    callTimeoutMs(io.env),
  );
  let res: Awaited<ReturnType<typeof conn.http.chat>>;
  try {
    res = await conn.http.chat(body, { signal: connection.signal });
  } catch (err) {
    if (connection.signal.aborted) throw connection.signal.reason;
    if (err instanceof DispatchApiError && err.status === 409) {
      throw new CliError(
        `${err.message} — wait for it, stop it (dispatch stop), or queue with: dispatch send <id> --queue`,
        EXIT.failed,
      );
    }
    throw err;
  } finally {
    clearTimeout(noAnswer);
  }
  const conversationId = res.conversationId;
  if (flags.open) await conn.http.open(conversationId);
  if (flags.detach) {
    connection.abort();
    if (flags.json) io.stdout.write(`${JSON.stringify({ type: "detached", conversationId })}\n`);
    else {
      io.stdout.write(`${conversationId}\n`);
      io.stderr.write(
        `dispatch: the turn runs on in the daemon; follow it with: dispatch attach ${conversationId.slice(0, 8)}\n`,
      );
    }
    return EXIT.ok;
  }
  if (!flags.json && io.stderr.isTTY)
    io.stderr.write(`${dim(color, `conversation ${safeLine(conversationId)}`)}\n`);
  return follow(conn, conversationId, res.events, flags, io, () => connection.abort());
}

/** Streams a turn's events (from POST /chat or an attach) to the end; see `chat`. */
export async function follow(
  conn: DaemonConnection,
  conversationId: string,
  events: AsyncIterable<AgentEvent>,
  flags: ChatFlags,
  io: CliIo,
  release: () => void,
): Promise<number> {
  const color = colorEnabled(io.stderr, io.env);
  const spinner = io.stderr.isTTY && !flags.json ? startSpinner(io.stderr) : undefined;
  const state: RenderState = { mode: "start" };
  const result = { text: "", usage: undefined as Usage | undefined, reason: undefined as string | undefined };
  let failed = false;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) {
      io.stderr.write("\ndispatch: interrupted again: exiting now\n");
      process.exit(EXIT.interrupted);
    }
    interrupted = true;
    spinner?.stop();
    io.stderr.write(`\n${dim(color, "stopping the turn… (Ctrl-C again to exit now)")}\n`);
    conn.http.stop(conversationId).catch(() => {
      // The stream ends anyway when the daemon is gone; the message below still names the id.
    });
  };
  process.on("SIGINT", onSigint);
  try {
    for await (const event of events) {
      if (spinner && event.type !== "user-message" && event.type !== "turn-start") spinner.stop();
      if (flags.json) io.stdout.write(`${JSON.stringify(event)}\n`);
      else {
        const out = renderEvent(event, state, { color, showReasoning: flags.showReasoning });
        if (out.stdout) io.stdout.write(out.stdout);
        if (out.stderr) io.stderr.write(out.stderr);
      }
      if (event.type === "text-delta") result.text += event.delta;
      if (event.type === "usage") result.usage = event.usage;
      if (event.type === "error") failed = true;
      if (event.type === "done") {
        result.reason = event.reason;
        if (event.usage) result.usage = event.usage;
        if (event.reason === "error" || event.reason === "aborted") failed = true;
      }
      if (event.type === "turn-sealed") break;
      if (event.type === "permission-request" && !interrupted) {
        const answer = await askPermission(event, io);
        const decision = answer === "interrupted" || answer === "unattended" ? "deny" : answer;
        const reason =
          answer === "unattended"
            ? `nobody could be asked (the CLI has no terminal); rerun with --allow ${event.toolName} or --yes`
            : undefined;
        await conn.http
          .answerPermission(conversationId, event.requestId, decision, reason)
          .catch((err: unknown) => {
            // Already resolved (another client answered, the timeout, a stop): nothing to undo.
            if (!(err instanceof DispatchApiError)) throw err;
          });
        if (answer === "interrupted") onSigint();
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
    process.off("SIGINT", onSigint);
    spinner?.stop();
    release();
  }
  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({ type: "result", conversationId, ...result, ...(interrupted ? { interrupted: true } : {}) })}\n`,
    );
  }
  if (interrupted) {
    io.stderr.write(
      `dispatch: interrupted: stopped the turn of ${conversationId}; continue with: ${continueHint(conversationId)}\n`,
    );
    return EXIT.interrupted;
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/**
 * Asks on the terminal, showing the complete input (wrapped, with a length note: never cut, so an
 * appended command cannot hide). Ctrl-D (end of input) denies; Ctrl-C denies and stops the turn.
 * Without a terminal nobody can answer: denied, naming the flags that allow it.
 */
async function askPermission(
  event: Extract<AgentEvent, { type: "permission-request" }>,
  io: CliIo,
): Promise<PermissionDecision | "interrupted" | "unattended"> {
  const tool = safeLine(event.toolName);
  if (!io.stdinIsTTY) {
    io.stderr.write(
      `dispatch: ${tool} was not run: it needs permission and nobody can answer (stdin is not a terminal). ` +
        `Allow it for this run with --allow ${tool} (or --yes for every tool), run in a terminal to be asked, ` +
        `or allow it in dispatch.toml: [permission-gate] tools = { ${tool} = "allow" }\n`,
    );
    return "unattended";
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const input = typeof event.input === "string" ? event.input : (JSON.stringify(event.input) ?? "");
    const width = Math.max(40, (process.stderr as { columns?: number }).columns ?? 80);
    io.stderr.write(`${tool} wants to run with this input:\n${wrapAll(input, width)}\n`);
    const prompt = `Allow ${tool}? [y]es / [n]o / [a]lways: `;
    const answer = await new Promise<string | typeof INTERRUPTED | typeof END_OF_INPUT>((resolve) => {
      rl.on("SIGINT", () => resolve(INTERRUPTED));
      rl.on("close", () => resolve(END_OF_INPUT));
      rl.question(prompt).then(resolve, () => resolve(END_OF_INPUT));
    });
    if (answer === INTERRUPTED) {
      io.stderr.write(`\ndispatch: interrupted: denied ${tool}\n`);
      return "interrupted";
    }
    if (answer === END_OF_INPUT) {
      io.stderr.write(`\ndispatch: end of input: denied ${tool}\n`);
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
