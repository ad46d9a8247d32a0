/**
 * Test helpers: spawn the real daemon (`bun apps/daemon/src/main.ts`) on free ports with a temp data
 * folder, wait for its readiness banner, and talk to it with fetch. Not part of the package API.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DaemonInfo } from "@dispatch/discovery";
import type { AgentEvent } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit";
import type { Subprocess } from "bun";

export const MAIN = join(import.meta.dir, "main.ts");
/** Booting a subprocess on a loaded 2-core machine can be slow. */
const BOOT_TIMEOUT_MS = 20_000;

export async function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), "dispatch-daemon-"));
}

/** The parent environment without anything that would point the daemon at a real provider or folder. */
export function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      k.startsWith("DISPATCH_") ||
      k.endsWith("_API_KEY") ||
      k.endsWith("_BASE_URL") ||
      k === "XDG_STATE_HOME"
    )
      continue;
    env[k] = v;
  }
  return env;
}

/** A byte stream's chunks (DOM typings lack ReadableStream's async iterator). */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** Collects a stream's text and lets tests await a substring. */
class TextSink {
  text = "";
  /** Resolves when the stream has ended (the process closed it). */
  readonly ended: Promise<void>;
  private waiters: { needle: string; resolve: () => void }[] = [];
  constructor(stream: ReadableStream<Uint8Array>) {
    this.ended = this.pump(stream);
  }
  private async pump(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    for await (const part of chunksOf(stream)) {
      this.text += decoder.decode(part, { stream: true });
      this.waiters = this.waiters.filter((w) => {
        if (!this.text.includes(w.needle)) return true;
        w.resolve();
        return false;
      });
    }
  }
  waitFor(needle: string): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ needle, resolve }));
  }
}

export interface DaemonProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  home: string;
  stdout: TextSink;
  stderr: TextSink;
  exited: Promise<number>;
}

/** Spawns the daemon; it may fail to start (see `startDaemon` for one that must). */
export function spawnDaemon(
  home: string,
  env: Record<string, string> = {},
  argv: string[] = [],
): DaemonProcess {
  const proc = Bun.spawn(["bun", MAIN, ...argv], {
    env: { ...cleanEnv(), DISPATCH_HOME: home, DISPATCH_WS_PORT: "0", DISPATCH_HTTP_PORT: "0", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    proc,
    home,
    stdout: new TextSink(proc.stdout),
    stderr: new TextSink(proc.stderr),
    exited: proc.exited,
  };
}

export interface RunningTestDaemon extends DaemonProcess {
  info: DaemonInfo;
  base: string;
  token: string;
  /** fetch against the HTTP API with the token (unless `auth: false`) and a loopback Host. */
  api(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

/** Spawns the daemon and waits until it is ready (banner printed, daemon.json written). */
export async function startDaemon(
  home: string,
  env: Record<string, string> = {},
  argv: string[] = [],
): Promise<RunningTestDaemon> {
  const d = spawnDaemon(home, env, argv);
  const ready = d.stdout.waitFor(" ready (pid ");
  const died = d.exited.then((code) => {
    throw new Error(`daemon exited with ${code} before it was ready:\n${d.stderr.text}`);
  });
  await withTimeout(Promise.race([ready, died]), BOOT_TIMEOUT_MS, "the daemon's readiness banner");
  const info = JSON.parse(await readFile(join(home, "daemon.json"), "utf8")) as DaemonInfo;
  const base = `http://127.0.0.1:${info.httpPort}`;
  return {
    ...d,
    info,
    base,
    token: info.token,
    api(path, init = {}) {
      const { auth = true, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (auth && !headers.has("authorization")) headers.set("authorization", `Bearer ${info.token}`);
      // Bodies are JSON (the API refuses others with 415), like every real client sends them.
      if (rest.body != null && !headers.has("content-type")) headers.set("content-type", "application/json");
      return fetch(`${base}${path}`, { ...rest, headers });
    },
    async stop() {
      d.proc.kill("SIGTERM");
      return withTimeout(d.exited, 10_000, "the daemon to exit after SIGTERM");
    },
  };
}

/** Kills a test daemon that is still running (afterAll safety net); only processes the test started. */
export function reap(...daemons: (DaemonProcess | undefined)[]): void {
  for (const d of daemons) if (d && d.proc.exitCode === null) d.proc.kill("SIGKILL");
}

export async function writeConfig(home: string, toml: string): Promise<string> {
  const path = join(home, "dispatch.toml");
  await writeFile(path, toml);
  return path;
}

/** Reads an NDJSON response line by line as AgentEvents. */
export async function* ndjson(res: Response): AsyncGenerator<AgentEvent> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const part of chunksOf(res.body)) {
    buffer += decoder.decode(part, { stream: true });
    let nl = buffer.indexOf("\n");
    while (nl !== -1) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) yield JSON.parse(line) as AgentEvent;
      nl = buffer.indexOf("\n");
    }
  }
}

/** A WebSocket client that keeps every parsed frame and lets tests await one. */
export class WsClient {
  readonly frames: Record<string, unknown>[] = [];
  private waiters: {
    pred: (f: Record<string, unknown>) => boolean;
    resolve: (f: Record<string, unknown>) => void;
  }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly ws: WebSocket;
  constructor(url: string, protocols: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data)) as Record<string, unknown>;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(frame)) return true;
        w.resolve(frame);
        return false;
      });
    };
    this.closed = new Promise((resolve) => {
      this.ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    });
  }
  next(
    pred: (f: Record<string, unknown>) => boolean,
    what: string,
    ms = 10_000,
  ): Promise<Record<string, unknown>> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => this.waiters.push({ pred, resolve })), ms, what);
  }
}

/** A program on a pseudo-terminal (Bun's PTY): stdin, stdout and stderr are all the terminal. */
export interface TerminalProcess {
  /** Everything the program wrote so far (stdout and stderr interleaved, as a terminal shows them). */
  readonly output: string;
  readonly pid: number;
  /** Resolves once `needle` has been written; fails after `ms` naming it and showing the output. */
  waitFor(needle: string, ms?: number): Promise<void>;
  /** Types on the keyboard (`\r` is Enter, `\x03` Ctrl-C, `\x04` Ctrl-D). */
  type(keys: string): void;
  /** The exit code, once the terminal's output is read to its end; fails (and kills) after `ms`. */
  exited(ms?: number): Promise<number>;
  /** Kills a program that is still running (afterAll safety net). */
  kill(): void;
}

export function spawnOnTerminal(cmd: string[], env: Record<string, string | undefined>): TerminalProcess {
  let output = "";
  let waiters: { needle: string; resolve: () => void }[] = [];
  const decoder = new TextDecoder();
  const drained = Promise.withResolvers<void>();
  const withOutput = (err: Error): never => {
    throw new Error(`${err.message}; the terminal shows:\n${output}`);
  };
  // Inline terminal options: the pty belongs to the program, so its end reaches `exit` (EOF).
  const proc = Bun.spawn(cmd, {
    env,
    terminal: {
      cols: 200,
      rows: 50,
      data(_t, bytes) {
        output += decoder.decode(bytes, { stream: true });
        waiters = waiters.filter((w) => {
          if (!output.includes(w.needle)) return true;
          w.resolve();
          return false;
        });
      },
      exit() {
        drained.resolve();
      },
    },
  });
  const terminal = proc.terminal as Bun.Terminal;
  return {
    get output() {
      return output;
    },
    pid: proc.pid,
    waitFor(needle, ms = 20_000) {
      if (output.includes(needle)) return Promise.resolve();
      const seen = new Promise<void>((resolve) => waiters.push({ needle, resolve }));
      return withTimeout(seen, ms, `"${needle}" on the terminal`).catch(withOutput);
    },
    type(keys) {
      terminal.write(keys);
    },
    async exited(ms = 20_000) {
      try {
        const code = await withTimeout(proc.exited, ms, `${cmd.join(" ")} to exit`).catch(withOutput);
        // What it wrote last may still be in the terminal; read it before closing.
        await withTimeout(drained.promise, 5_000, "the end of the terminal's output");
        return code;
      } catch (err) {
        proc.kill("SIGKILL");
        throw err;
      } finally {
        terminal.close();
      }
    },
    kill() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

/**
 * Writes what a daemon that is gone leaves behind: `daemon.lock` and `daemon.json` naming `pid` (with
 * `processKey` when given, as a daemon of an earlier boot would have).
 */
export async function writeStaleDaemonFiles(home: string, pid: number, processKey?: string): Promise<void> {
  await writeFile(join(home, "daemon.lock"), `${pid}\n${processKey ?? ""}\n`);
  const info = {
    pid,
    version: "0.0.1",
    httpPort: 1,
    wsPort: 2,
    host: "127.0.0.1",
    token: "old",
    startedAt: "x",
  };
  await writeFile(join(home, "daemon.json"), JSON.stringify(processKey ? { ...info, processKey } : info));
}

/** Runs `fn` with a live process that is not a daemon (a `sleep`), which is killed afterwards. */
export async function withUnrelatedProcess<T>(fn: (proc: Subprocess) => Promise<T>): Promise<T> {
  const proc = Bun.spawn(["sleep", "30"]);
  try {
    return await fn(proc);
  } finally {
    proc.kill();
  }
}

/** Reads events until `stop` matches (inclusive); the stream stays open for more reads. */
export async function readUntil(
  events: AsyncGenerator<AgentEvent>,
  stop: (e: AgentEvent) => boolean,
  what: string,
) {
  const seen: AgentEvent[] = [];
  await withTimeout(
    (async () => {
      for (;;) {
        const next = await events.next();
        if (next.done)
          throw new Error(`stream ended before ${what}; saw ${seen.map((e) => e.type).join(",")}`);
        seen.push(next.value);
        if (stop(next.value)) return;
      }
    })(),
    20_000,
    what,
  );
  return seen;
}
