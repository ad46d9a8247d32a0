import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import {
  connectToDaemon,
  type DaemonConnection,
  DaemonNotRunningError,
  DispatchApiError,
} from "@dispatch/client";
import { currentHome, findDaemon, isPidAlive } from "@dispatch/discovery";
import type {
  AgentEvent,
  ChatRequestBody,
  ConversationMeta,
  ConversationStatus,
  PermissionDecision,
} from "@dispatch/protocol/types";
import packageJson from "../package.json";
import { type Command, type GlobalFlags, parseCommand } from "./args";
import { startDaemonInBackground } from "./autostart";
import { helpFor } from "./help";
import { resolveShortId } from "./ids";
import { dim, type RenderState, renderChunk, renderEvent } from "./render";

export interface CliIo {
  stdout: { write(s: string): void; isTTY?: boolean };
  stderr: { write(s: string): void; isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
}

/**
 * Exit codes: 0 ok, 1 failed (daemon error, turn error), 2 usage, 3 no daemon / cannot reach it, 130
 * interrupted (Ctrl-C at a permission prompt).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, interrupted: 130 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const VERSION: string = packageJson.version;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(argv, (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      return new Error(
        (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message,
      );
    }
  });
  if (!parsed.ok) {
    io.stderr.write(
      `dispatch: ${parsed.message}\n(see: dispatch ${parsed.topic ? `${parsed.topic} ` : ""}--help)\n`,
    );
    return EXIT.usage;
  }
  const { command, flags } = parsed;
  try {
    return await execute(command, flags, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`dispatch: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof DispatchApiError) {
      io.stderr.write(`dispatch: ${err.message}${err.code ? ` (${err.code})` : ""}\n`);
      return EXIT.failed;
    }
    if (err instanceof DaemonNotRunningError) {
      io.stderr.write(`dispatch: ${err.message}\n`);
      return EXIT.unavailable;
    }
    const e = err as Error & { code?: string };
    if (isConnectionError(e)) {
      io.stderr.write(
        `dispatch: cannot reach the daemon (${e.code}: ${e.message}); is it still running? try: dispatch status\n`,
      );
      return EXIT.unavailable;
    }
    io.stderr.write(`dispatch: unexpected error: ${e.stack ?? e.message}\n`);
    return EXIT.failed;
  }
}

/** Pure: colours only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

const CONNECTION_ERRORS = new Set(["ConnectionRefused", "ECONNREFUSED", "ECONNRESET", "ConnectionClosed"]);

/** Pure: the daemon went away or cannot be reached (fetch's codes in Bun and Node). */
function isConnectionError(e: { code?: string }): boolean {
  return e.code !== undefined && CONNECTION_ERRORS.has(e.code);
}

async function execute(command: Command, flags: GlobalFlags, io: CliIo): Promise<number> {
  const home = flags.home ?? currentHome(io.env);
  const color = useColor(io.stdout, io.env);
  const print = (text: string) => io.stdout.write(`${text}\n`);
  const printJson = (value: unknown) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

  switch (command.kind) {
    case "help":
      print(helpFor(command.topic));
      return EXIT.ok;
    case "version":
      print(VERSION);
      return EXIT.ok;
    case "serve": {
      const { runDaemon, DaemonError } = await import("@dispatch/daemon");
      try {
        const daemon = await runDaemon({ home, env: io.env, argv: command.argv });
        await daemon.stopped;
        return EXIT.ok;
      } catch (err) {
        if (err instanceof DaemonError) {
          if (err.code === "DAEMON_HELP") io.stdout.write(`${err.message}\n`);
          else io.stderr.write(`dispatch serve: ${err.message}\n`);
          return err.exitCode;
        }
        throw err;
      }
    }
    case "status": {
      const info = findDaemon(home);
      if (!info) {
        if (flags.json) printJson({ running: false, home });
        else print(`no dispatch daemon is running for ${home}`);
        return EXIT.unavailable;
      }
      const conn = connectToDaemon({ home });
      const health = await conn.http
        .health()
        .catch((err: Error) => ({ ok: false as const, error: err.message }));
      const { token: _token, ...publicInfo } = info;
      if (flags.json) printJson({ running: true, home, ...publicInfo, health });
      else {
        print(`dispatch daemon ${info.version} running (pid ${info.pid}) since ${info.startedAt}`);
        print(`  http  http://${info.host}:${info.httpPort}`);
        print(`  ws    ws://${info.host}:${info.wsPort}`);
        print(`  home  ${home}`);
        if (!("ok" in health) || !health.ok)
          print(`  health check failed: ${"error" in health ? health.error : "?"}`);
      }
      return EXIT.ok;
    }
    case "stop-daemon": {
      const info = findDaemon(home);
      if (!info) {
        print(`no dispatch daemon is running for ${home}`);
        return EXIT.ok;
      }
      process.kill(info.pid, "SIGTERM");
      const deadline = Date.now() + 15_000;
      while (isPidAlive(info.pid) && Date.now() < deadline) await Bun.sleep(50);
      if (isPidAlive(info.pid))
        throw new CliError(`daemon (pid ${info.pid}) did not stop within 15 s`, EXIT.failed);
      print(`stopped dispatch daemon (pid ${info.pid})`);
      return EXIT.ok;
    }
    default:
      break;
  }

  const conn = await ensureDaemon(home, io);
  const http = conn.http;
  const resolveId = async (input: string): Promise<string> => {
    // `q` matches id prefixes and title substrings: page through so titles cannot crowd out ids.
    const candidates: ConversationMeta[] = [];
    let cursor: string | undefined;
    do {
      const page = await http.listConversations({
        q: input,
        status: ["active", "queued", "idle", "closed"],
        limit: 500,
        ...(cursor === undefined ? {} : { cursor }),
      });
      candidates.push(...page.conversations.filter((c) => c.id.startsWith(input)));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const r = resolveShortId(input, candidates);
    if (!r.ok) throw new CliError(r.message, EXIT.usage);
    return r.id;
  };

  switch (command.kind) {
    case "models": {
      const res = await http.models();
      if (flags.json) printJson(res);
      else
        for (const name of res.models) {
          const info = res.modelInfo?.[name];
          const extras = [
            info?.contextWindow ? `${info.contextWindow.toLocaleString("en-US")} ctx` : "",
            info?.vision ? "vision" : "",
          ].filter(Boolean);
          print(extras.length ? `${name}  (${extras.join(", ")})` : name);
        }
      return EXIT.ok;
    }
    case "list": {
      const status: ConversationStatus[] | undefined =
        command.status ?? (command.all ? undefined : ["active", "queued", "idle"]);
      const res = await http.listConversations({
        ...(status ? { status } : {}),
        ...(command.workspace ? { workspaceId: command.workspace } : {}),
        limit: command.limit ?? 50,
      });
      if (flags.json) printJson(res);
      else if (res.conversations.length === 0) print("no conversations");
      else
        for (const c of res.conversations) {
          const when = new Date(c.lastActivityAt).toISOString().replace("T", " ").slice(0, 16);
          print(
            `${c.id.slice(0, 8)}  ${c.status.padEnd(6)}  ${when}  ${c.workspaceId.padEnd(10)}  ${c.title}`,
          );
        }
      return EXIT.ok;
    }
    case "read": {
      const id = await resolveId(command.id);
      const chunks = [];
      let since = command.sinceSeq ?? 0;
      const pageSize = 500;
      for (;;) {
        const page = await http.readConversation(id, { sinceSeq: since, limit: command.limit ?? pageSize });
        // `limit` alone means "the newest k": page forward only when reading everything.
        chunks.push(...page.chunks);
        if (command.limit !== undefined || page.chunks.length === 0 || page.latestSeq <= since) break;
        since = page.latestSeq;
        if (page.chunks.length < pageSize) break;
      }
      if (flags.json) printJson({ conversationId: id, chunks });
      else for (const c of chunks) print(renderChunk(c, color));
      return EXIT.ok;
    }
    case "stop": {
      const id = await resolveId(command.id);
      const res = await http.stop(id);
      if (flags.json) printJson(res);
      else print(res.abortedTurn ? `stopped the running turn of ${id}` : `${id} had no running turn`);
      return EXIT.ok;
    }
    case "open": {
      const id = await resolveId(command.id);
      const res = await http.open(id);
      if (flags.json) printJson(res);
      else print(`asked connected frontends to open ${id}`);
      return EXIT.ok;
    }
    case "compact": {
      const id = await resolveId(command.id);
      const res = await http.compact(
        id,
        command.keepLastN === undefined ? {} : { keepLastN: command.keepLastN },
      );
      if (flags.json) printJson(res);
      else
        print(
          `compacted ${id}: ${res.messagesSummarized} messages summarized, ${res.messagesKept} kept (archived copy: ${res.newConversationId})`,
        );
      return EXIT.ok;
    }
    case "send": {
      const id = await resolveId(command.id);
      if (command.queue) {
        const res = await http.queue(id, { text: command.text });
        if (command.open) await http.open(id);
        if (flags.json) printJson(res);
        else
          print(
            res.startedTurn ? `started a turn in ${id}` : `queued (${res.queue.length} waiting) in ${id}`,
          );
        return EXIT.ok;
      }
      return chat(conn, { conversationId: id, message: command.text }, { ...command, json: flags.json }, io);
    }
    case "chat": {
      const body: ChatRequestBody = { message: command.text, model: command.model };
      if (command.conversation) body.conversationId = await resolveId(command.conversation);
      if (command.cwd) body.cwd = command.cwd;
      if (command.effort) body.reasoningEffort = command.effort;
      if (command.workspace) body.workspaceId = command.workspace;
      return chat(conn, body, { ...command, json: flags.json }, io);
    }
    default:
      throw new CliError(`unhandled command ${(command as Command).kind}`, EXIT.failed);
  }
}

async function ensureDaemon(home: string, io: CliIo): Promise<DaemonConnection> {
  if (!findDaemon(home)) {
    io.stderr.write(`dispatch: no daemon running for ${home}; starting one in the background…\n`);
    const info = await startDaemonInBackground(home, io.env).catch((err: Error) => {
      throw new CliError(err.message, EXIT.unavailable);
    });
    io.stderr.write(`dispatch: daemon ready (pid ${info.pid}, http :${info.httpPort}, ws :${info.wsPort})\n`);
  }
  return connectToDaemon({ home });
}

interface ChatFlags {
  json: boolean;
  open: boolean;
  showReasoning: boolean;
}

async function chat(
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
    if (isConnectionError(err as { code?: string })) {
      throw new CliError(
        `lost the connection to the daemon during the turn (${(err as Error & { code: string }).code}); what it produced is saved in ${conversationId} — see: dispatch status, dispatch read ${conversationId}`,
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
