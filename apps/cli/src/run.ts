import { readFileSync } from "node:fs";
import {
  connectToDaemon,
  type DaemonConnection,
  DaemonNotRunningError,
  DispatchApiError,
} from "@dispatch/client";
import { currentHome, findDaemon, isPidAlive } from "@dispatch/discovery";
import type { ChatRequestBody, ConversationMeta, ConversationStatus } from "@dispatch/protocol/types";
import packageJson from "../package.json";
import { type Command, type GlobalFlags, parseCommand } from "./args";
import { startDaemonInBackground } from "./autostart";
import { chat } from "./chat";
import { helpFor } from "./help";
import { resolveShortId } from "./ids";
import { CliError, type CliIo, EXIT, isConnectionError, useColor } from "./io";
import { runMcpCommand } from "./mcp";
import { runPair } from "./pair";
import { renderChunk } from "./render";

const VERSION: string = packageJson.version;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === "pair") return runPair(argv.slice(1), io);
  if (argv[0] === "mcp") return runMcpCommand(argv.slice(1), io);
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
        if (flags.json) printJson({ stopped: false, running: false, home });
        else print(`no dispatch daemon is running for ${home}`);
        return EXIT.ok;
      }
      process.kill(info.pid, "SIGTERM");
      const deadline = Date.now() + 15_000;
      while (isPidAlive(info.pid) && Date.now() < deadline) await Bun.sleep(50);
      if (isPidAlive(info.pid))
        throw new CliError(`daemon (pid ${info.pid}) did not stop within 15 s`, EXIT.failed);
      if (flags.json) printJson({ stopped: true, pid: info.pid, home });
      else print(`stopped dispatch daemon (pid ${info.pid})`);
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
