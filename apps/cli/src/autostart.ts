import { closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { DAEMON_EXIT_CODES } from "@dispatch/daemon/contract";
import { type DaemonInfo, findDaemon } from "@dispatch/discovery";

const MAIN = join(import.meta.dir, "main.ts");

/** A single-file binary (`bun build --compile`) runs its bundled code from Bun's embedded file system. */
export const COMPILED = import.meta.path.startsWith("/$bunfs/") || import.meta.path.includes("~BUN");

/** How to run `dispatch serve` with this very CLI: the binary itself, or Bun with main.ts. */
export function serveCommand(): string[] {
  return COMPILED ? [process.execPath, "serve"] : [process.execPath, MAIN, "serve"];
}

/** A start that failed: the daemon's exit code and the end of what it printed (the config error itself). */
export class AutostartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly tail: string,
  ) {
    super(message);
    this.name = "AutostartError";
  }
}

/** The last `maxLines` lines written to `path` after byte `from`. */
function tailSince(path: string, from: number, maxLines = 20): string {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const start = Math.max(from, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString("utf8").trimEnd().split("\n").slice(-maxLines).join("\n");
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts `dispatch serve` detached in the background (output to `<home>/logs/serve.out`) and waits until
 * its `daemon.json` appears (also when a concurrent client's daemon won the data folder). Resolves with
 * the daemon's info; rejects with an AutostartError carrying the tail of this start's output.
 */
export async function startDaemonInBackground(
  home: string,
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<DaemonInfo> {
  mkdirSync(join(home, "logs"), { recursive: true });
  const outPath = join(home, "logs", "serve.out");
  const out = openSync(outPath, "a");
  const startedAt = statSync(outPath).size;
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn(serveCommand(), {
      env: { ...env, DISPATCH_HOME: home },
      stdio: ["ignore", out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
  }
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = findDaemon(home);
    if (info) return info;
    // Exit 3: another client started a daemon on this folder first; wait for that one instead.
    if (child.exitCode !== null && child.exitCode !== DAEMON_EXIT_CODES.DAEMON_ALREADY_RUNNING) {
      const tail = tailSince(outPath, startedAt);
      throw new AutostartError(
        `the daemon exited with code ${child.exitCode} while starting:\n${tail}\n(full output: ${outPath})`,
        child.exitCode,
        tail,
      );
    }
    await Bun.sleep(50);
  }
  throw new AutostartError(
    `the daemon did not become ready within ${timeoutMs} ms:\n${tailSince(outPath, startedAt)}\n(full output: ${outPath})`,
    null,
    tailSince(outPath, startedAt),
  );
}
