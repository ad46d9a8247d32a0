/** `dispatch relay` as a subprocess, for the relay tests and the relay bench. */
import { join } from "node:path";
import type { Subprocess } from "bun";
import { withDeadline as withTimeout } from "./bench-kit";
import { REPO_ROOT } from "./daemon";

export interface RelayProc {
  proc: Subprocess;
  port: number;
}

/**
 * Starts a relay on a free loopback port reading `redisUrl` under `prefix`; resolves once it printed
 * its listening line. Its later output is drained (a full pipe never blocks it); its stderr is
 * discarded. `extraArgs` go after the others (e.g. `--connections-per-address`). The caller kills it.
 */
export async function startRelayProc(
  redisUrl: string,
  prefix: string,
  extraArgs: readonly string[] = [],
): Promise<RelayProc> {
  const proc = Bun.spawn(
    [
      "bun",
      join(REPO_ROOT, "apps/cli/src/main.ts"),
      "relay",
      "--redis",
      redisUrl,
      "--port",
      "0",
      "--prefix",
      prefix,
      ...extraArgs,
    ],
    { stdout: "pipe", stderr: "ignore" },
  );
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  try {
    const port = await withTimeout(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`the relay exited before listening: ${text}`);
          text += new TextDecoder().decode(value);
          const m = /relay listening on http:\/\/127\.0\.0\.1:(\d+)\n/.exec(text);
          if (m) return Number(m[1]);
        }
      })(),
      20_000,
      "the relay's listening line",
    );
    reader.releaseLock();
    void (proc.stdout as ReadableStream<Uint8Array>).pipeTo(new WritableStream()).catch(() => {});
    return { proc, port };
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
}
