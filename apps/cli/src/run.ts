import { resolve } from "node:path";
import { type DaemonConnection, DaemonNotRunningError, DispatchApiError } from "@dispatch/client";
import { colorEnabled, painter } from "@dispatch/daemon/cli";
import { currentHome, findDaemon } from "@dispatch/discovery";
import type { ConversationMeta } from "@dispatch/protocol/types";
import type { RunContext } from "./commands/spec";
import { TABLE } from "./commands/table";
import { ensureDaemon } from "./connection";
import { helpFor } from "./help";
import { resolveShortId } from "./ids";
import { CliError, type CliIo, EXIT, isConnectionError, isTimeout } from "./io";
import { parseCommand } from "./parse";
import { safeText } from "./sanitize";

/** Pure: one error line, prefixed once (`dispatch read: …` already names itself). */
const prefixed = (message: string) => (message.startsWith("dispatch") ? message : `dispatch: ${message}`);

interface Failure {
  message: string;
  code: string;
  exitCode: number;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(argv, TABLE);
  const report = (f: Failure, json: boolean, hint?: string) => {
    // Error messages may quote what the daemon, a provider or a model said: never raw to the terminal.
    if (json)
      io.stderr.write(
        `${JSON.stringify({ type: "error", code: f.code, message: f.message, exitCode: f.exitCode })}\n`,
      );
    else io.stderr.write(`${prefixed(safeText(f.message))}\n${hint ?? ""}`);
    return f.exitCode;
  };
  if (!parsed.ok) {
    return report(
      { message: parsed.message, code: "CLI_USAGE", exitCode: EXIT.usage },
      parsed.json,
      `(see: dispatch ${parsed.topic ? `${parsed.topic} ` : ""}--help)\n`,
    );
  }
  const home = resolve(parsed.home ?? currentHome(io.env));
  let connection: Promise<DaemonConnection> | undefined;
  const ctx: RunContext = {
    args: parsed.args,
    values: parsed.values,
    json: parsed.json,
    home,
    io,
    out: painter(colorEnabled(io.stdout, io.env)),
    err: painter(colorEnabled(io.stderr, io.env)),
    print: (text) => io.stdout.write(`${text}\n`),
    helpFor,
    printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    daemon: () => {
      connection ??= ensureDaemon(home, io, parsed.json);
      return connection;
    },
    resolveId,
  };
  try {
    return await parsed.spec.run(ctx);
  } catch (err) {
    return report(failureOf(err, home), parsed.json);
  }
}

/** Pure-ish: the message, code and exit code of anything a command threw. */
function failureOf(err: unknown, home: string): Failure {
  if (err instanceof CliError) return { message: err.message, code: err.code, exitCode: err.exitCode };
  if (err instanceof DispatchApiError)
    return {
      message: `${err.message}${err.code ? ` (${err.code})` : ""}`,
      code: err.code ?? "CLI_API_ERROR",
      exitCode: EXIT.failed,
    };
  if (err instanceof DaemonNotRunningError)
    return { message: err.message, code: err.code, exitCode: EXIT.unavailable };
  if (isTimeout(err)) {
    const pid = findDaemon(home)?.pid;
    return {
      message: `daemon not responding (pid ${pid ?? "?"}); is it stopped or overloaded? try: dispatch status, or restart it (dispatch stop-daemon)`,
      code: "CLI_DAEMON_NOT_RESPONDING",
      exitCode: EXIT.unavailable,
    };
  }
  if (isConnectionError(err))
    return {
      message: `cannot reach the daemon (${err.code}: ${err.message}); is it still running? try: dispatch status`,
      code: "CLI_UNREACHABLE",
      exitCode: EXIT.unavailable,
    };
  const e = err as Error;
  return {
    message: `unexpected error: ${e.stack ?? e.message}`,
    code: "CLI_INTERNAL",
    exitCode: EXIT.failed,
  };
}

async function resolveId(conn: DaemonConnection, input: string): Promise<string> {
  // `q` matches id prefixes and title substrings: page through so titles cannot crowd out ids.
  const candidates: ConversationMeta[] = [];
  let cursor: string | undefined;
  do {
    const page = await conn.http.listConversations({
      q: input,
      status: ["active", "queued", "idle", "closed"],
      limit: 500,
      ...(cursor === undefined ? {} : { cursor }),
    });
    candidates.push(...page.conversations.filter((c) => c.id.startsWith(input)));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  const r = resolveShortId(input, candidates);
  if (!r.ok) throw new CliError(r.message, r.code === "CLI_UNKNOWN_ID" ? EXIT.failed : EXIT.usage, r.code);
  return r.id;
}
