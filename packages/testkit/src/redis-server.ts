/**
 * A real `redis-server` for tests: a private one on a free loopback port in a temp dir, with
 * persistence off (`--save '' --appendonly no`), ready once it answers PING, killed by `stop()`.
 * Tests never use a shared or remote Redis: `testRedis()` takes the one `scripts/run-tests.ts`
 * started for the run (`DISPATCH_TEST_REDIS_URL`, loopback only) and otherwise starts its own.
 * Callers that restart or kill Redis (failure tests) always start their own with `startRedisServer`.
 *
 * Keys: with a shared server every test uses its own key prefix (`uniquePrefix()`), so tests never
 * see each other's streams.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

/** Where Debian's package installs it (`apt-get install redis-server`); else whatever is on PATH. */
export const REDIS_SERVER = Bun.which("redis-server") ?? "/usr/bin/redis-server";
export const haveRedis: boolean = Bun.which("redis-server") !== null;

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Kills it (SIGKILL) and waits until it is gone; the temp dir is removed. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now (a crash), keeping the port for `start()`. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after `kill`), empty (nothing was persisted). */
  start(): Promise<void>;
}

/** A free loopback TCP port (bound then released; redis-server takes it a moment later). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** Resolves once `url` answers PING; rejects after `timeoutMs` naming the URL. */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { port, hostname } = new URL(url);
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const answer = await ping(hostname, Number(port));
      if (answer.startsWith("+PONG")) return;
      last = answer.trim();
    } catch (e) {
      last = String(e);
    }
    await Bun.sleep(20);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for redis-server at ${url} to answer PING (${last})`,
  );
}

function ping(hostname: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    Bun.connect({
      hostname,
      port,
      socket: {
        open(s) {
          s.write("PING\r\n");
        },
        data(s, chunk) {
          text += chunk.toString();
          if (text.includes("\r\n")) {
            s.end();
            resolve(text);
          }
        },
        close() {
          resolve(text);
        },
        error(_s, e) {
          reject(e);
        },
        connectError(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}

/** Starts a private redis-server on a free loopback port. */
export async function startRedisServer(): Promise<RedisServer> {
  if (!haveRedis) throw new Error(`no redis-server on PATH (apt-get install redis-server)`);
  const dir = mkdtempSync(join(tmpdir(), "dispatch-redis-"));
  let proc: Subprocess | undefined;
  let port = 0;
  let stopped = false;

  const launch = async (fixedPort?: number): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const p = fixedPort ?? freePort();
      const child = Bun.spawn(
        [REDIS_SERVER, "--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"].concat(
          ["--dir", dir, "--logfile", "", "--daemonize", "no", "--protected-mode", "yes"],
        ),
        { stdout: "ignore", stderr: "pipe", cwd: dir },
      );
      try {
        await Promise.race([
          waitForRedis(`redis://127.0.0.1:${p}`),
          child.exited.then((code) => {
            throw new Error(`redis-server exited with ${code} on port ${p}`);
          }),
        ]);
        proc = child;
        port = p;
        return;
      } catch (e) {
        child.kill("SIGKILL");
        await child.exited;
        // Another process took the probed port in between: try another (a fixed port has no other).
        if (fixedPort !== undefined || attempt >= 4) throw e;
      }
    }
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p) {
      p.kill("SIGKILL");
      await p.exited;
    }
  };
  await launch();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    kill,
    async start() {
      if (stopped) throw new Error("redis-server was stopped for good");
      if (!proc) await launch(port);
    },
    async stop() {
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis for one test file: the run's shared server (env), else a private one. */
export interface TestRedis {
  readonly url: string;
  /** Stops the private server (nothing for the shared one). */
  stop(): Promise<void>;
}

export const TEST_REDIS_ENV = "DISPATCH_TEST_REDIS_URL";

/** Pure: whether a URL names a loopback Redis (tests refuse anything else). */
export function isLoopbackRedisUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "redis:" && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  } catch {
    return false;
  }
}

export async function testRedis(env: Record<string, string | undefined> = process.env): Promise<TestRedis> {
  const shared = env[TEST_REDIS_ENV];
  if (shared !== undefined && shared !== "") {
    if (!isLoopbackRedisUrl(shared))
      throw new Error(`${TEST_REDIS_ENV}=${shared}: tests only use a loopback redis:// server`);
    await waitForRedis(shared);
    return { url: shared, stop: async () => {} };
  }
  const own = await startRedisServer();
  return { url: own.url, stop: () => own.stop() };
}

/** A key prefix no other test uses (tests sharing one server stay apart). */
export function uniquePrefix(name = "t"): string {
  return `${name}-${crypto.randomUUID().slice(0, 8)}:`;
}
