/**
 * The real daemon as a subprocess: a temp data folder (DISPATCH_HOME), free ports (DISPATCH_WS_PORT=0,
 * DISPATCH_HTTP_PORT=0), an optional `dispatch.toml`, and readiness signalled by `daemon.json` naming the
 * child's pid. Output is captured so a failure can say what the daemon printed.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { DAEMON_JSON, type DaemonInfo, DispatchHttpClient, daemonUrls, readDaemonInfo } from "./deps";
import { pollUntil } from "./wait";

export const REPO_ROOT = path.resolve(import.meta.dir, "../..");

/** `bun apps/daemon/src/main.ts` when it exists, else the CLI's foreground `serve`. */
export function daemonCommand(bunArgs: readonly string[] = []): string[] {
  const main = path.join(REPO_ROOT, "apps/daemon/src/main.ts");
  if (existsSync(main)) return [process.execPath, ...bunArgs, main];
  return [process.execPath, ...bunArgs, path.join(REPO_ROOT, "apps/cli/src/main.ts"), "serve"];
}

export interface DaemonOptions {
  /** Data folder to use (kept on stop); default a new temp folder, removed by `dispose()`. */
  home?: string;
  /** Contents of `<home>/dispatch.toml`, written before the start. */
  toml?: string;
  /** Extra environment (DISPATCH_BASE_URL, DISPATCH_MODEL, …). */
  env?: Record<string, string>;
  /** How long to wait for `daemon.json` (default 30 s: a cold start on a busy 2-core box). */
  readyTimeoutMs?: number;
  /** Flags for `bun` itself, before the script (e.g. `--cpu-prof-md`, for profiling a bench run). */
  bunArgs?: string[];
}

/** Pure: `dispatch.toml` for the offline model with the given per-token delay, plus extra TOML. */
export function localModelToml(delayMs: number, extra = ""): string {
  return `[providers.local]\ndelayMs = ${delayMs}\n${extra}`;
}

/** Last `max` characters of a stream, kept while the process runs. */
class Tail {
  text = "";
  constructor(private readonly max = 64 * 1024) {}
  async pump(stream: ReadableStream<Uint8Array> | undefined): Promise<void> {
    if (!stream) return;
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        this.text += decoder.decode(value, { stream: true });
        if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max);
      }
    } catch {
      // the pipe closed with the process
    }
  }
}

/** Environment of the child: ours without any DISPATCH_* or provider keys, then the test's. */
function childEnv(home: string, extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(DISPATCH_|OPENAI_|ANTHROPIC_)/.test(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    DISPATCH_HOME: home,
    DISPATCH_WS_PORT: "0",
    DISPATCH_HTTP_PORT: "0",
    NO_COLOR: "1",
    ...extra,
  };
}

/** A daemon subprocess that has written its `daemon.json`. */
export class DaemonProcess {
  readonly http: DispatchHttpClient;
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** Resolves with the exit code (or signal number + 128) when the process ends. */
  readonly exited: Promise<number>;

  private constructor(
    readonly proc: Subprocess,
    readonly info: DaemonInfo,
    readonly options: DaemonOptions & { home: string; ownsHome: boolean },
    private readonly out: Tail,
    private readonly err: Tail,
    /** Milliseconds from spawn to a readable `daemon.json`. */
    readonly readyMs: number,
  ) {
    const urls = daemonUrls(info);
    this.wsUrl = urls.ws;
    this.httpUrl = urls.http;
    this.http = new DispatchHttpClient({ baseUrl: urls.http, token: info.token });
    this.exited = proc.exited;
  }

  get pid(): number {
    return this.proc.pid;
  }
  get home(): string {
    return this.options.home;
  }
  get token(): string {
    return this.info.token;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** What the daemon printed (stdout then stderr tails), for failure messages. */
  output(): string {
    return `--- daemon stdout (tail) ---\n${this.out.text.slice(-4000)}\n--- daemon stderr (tail) ---\n${this.err.text.slice(-8000)}`;
  }

  /** Starts a daemon and waits for its `daemon.json`. */
  static async start(options: DaemonOptions = {}): Promise<DaemonProcess> {
    const ownsHome = options.home === undefined;
    const home = options.home ?? (await mkdtemp(path.join(tmpdir(), "dispatch-rel-")));
    if (options.toml !== undefined) await writeFile(path.join(home, "dispatch.toml"), options.toml);
    const started = performance.now();
    const proc = Bun.spawn(daemonCommand(options.bunArgs), {
      cwd: REPO_ROOT,
      env: childEnv(home, options.env),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = new Tail();
    const err = new Tail();
    void out.pump(proc.stdout as ReadableStream<Uint8Array>);
    void err.pump(proc.stderr as ReadableStream<Uint8Array>);
    const file = path.join(home, DAEMON_JSON);
    let exitCode: number | undefined;
    proc.exited.then((c) => {
      exitCode = c;
    });
    try {
      const info = await pollUntil(
        () => {
          if (exitCode !== undefined)
            throw new Error(`daemon exited with code ${exitCode} before it was ready`);
          const i = readDaemonInfo(file);
          return i && i.pid === proc.pid ? i : undefined;
        },
        options.readyTimeoutMs ?? 30_000,
        `${file} naming pid ${proc.pid}`,
        { intervalMs: 10 },
      );
      const readyMs = performance.now() - started;
      return new DaemonProcess(proc, info, { ...options, home, ownsHome }, out, err, readyMs);
    } catch (e) {
      proc.kill("SIGKILL");
      await proc.exited;
      const tails = `--- stdout ---\n${out.text.slice(-4000)}\n--- stderr ---\n${err.text.slice(-8000)}`;
      if (ownsHome) await rm(home, { recursive: true, force: true });
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tails}`);
    }
  }

  /** A new daemon process on the same data folder and options (after a kill or stop). */
  restart(overrides: Partial<DaemonOptions> = {}): Promise<DaemonProcess> {
    const { ownsHome: _o, toml: _t, ...rest } = this.options;
    return DaemonProcess.start({ ...rest, ...overrides });
  }

  /** SIGKILL, no cleanup by the daemon: the crash case. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.proc.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM and wait (SIGKILL after `timeoutMs`). Resolves with the exit code. */
  async stop(timeoutMs = 10_000): Promise<number> {
    if (!this.alive) return this.exited;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process and removes the data folder when this process created it. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.options.ownsHome) await rm(this.home, { recursive: true, force: true });
  }
}

/** Creates a temp data folder (for daemons restarted on the same folder). */
export function makeHome(prefix = "dispatch-rel-"): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function removeHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
}
