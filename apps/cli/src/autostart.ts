import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { DAEMON_EXIT_CODES } from "@dispatch/daemon/contract";
import { type DaemonInfo, findDaemon } from "@dispatch/discovery";

const MAIN = join(import.meta.dir, "main.ts");

/**
 * Starts `dispatch serve` detached in the background (output to `<home>/logs/serve.out`) and waits until
 * its `daemon.json` appears (also when a concurrent client's daemon won the data folder). Resolves with the daemon's info; rejects with a message pointing at the log.
 */
export async function startDaemonInBackground(
  home: string,
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<DaemonInfo> {
  mkdirSync(join(home, "logs"), { recursive: true });
  const outPath = join(home, "logs", "serve.out");
  const out = openSync(outPath, "a");
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn([process.execPath, MAIN, "serve"], {
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
      throw new Error(`the daemon exited with code ${child.exitCode} while starting; see ${outPath}`);
    }
    await Bun.sleep(50);
  }
  throw new Error(`the daemon did not become ready within ${timeoutMs} ms; see ${outPath}`);
}
