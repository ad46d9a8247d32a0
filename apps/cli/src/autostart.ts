import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { type DaemonInfo, findDaemon } from "@dispatch/discovery";

const MAIN = join(import.meta.dir, "main.ts");

/**
 * Starts `dispatch serve` detached in the background (output to `<home>/logs/serve.out`) and waits until
 * its `daemon.json` appears. Resolves with the daemon's info; rejects with a message pointing at the log.
 */
export async function startDaemonInBackground(
  home: string,
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<DaemonInfo> {
  mkdirSync(join(home, "logs"), { recursive: true });
  const outPath = join(home, "logs", "serve.out");
  const out = openSync(outPath, "a");
  const child = Bun.spawn([process.execPath, MAIN, "serve"], {
    env: { ...env, DISPATCH_HOME: home },
    stdio: ["ignore", out, out],
    detached: true,
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = findDaemon(home);
    if (info) return info;
    if (child.exitCode !== null) {
      throw new Error(`the daemon exited with code ${child.exitCode} while starting; see ${outPath}`);
    }
    await Bun.sleep(50);
  }
  throw new Error(`the daemon did not become ready within ${timeoutMs} ms; see ${outPath}`);
}
