#!/usr/bin/env bun
/**
 * `bun apps/daemon/src/main.ts [options]`: runs the daemon in the foreground. Exit codes: 0 clean stop,
 * 1 boot failure, 2 bad config or arguments, 3 another daemon holds the data folder.
 */
import { DaemonError } from "./contract";
import { runDaemon } from "./daemon";

try {
  await runDaemon({ argv: process.argv.slice(2) });
} catch (e) {
  if (e instanceof DaemonError) {
    (e.exitCode === 0 ? process.stdout : process.stderr).write(`${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(
    `dispatch daemon: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : e}\n`,
  );
  process.exit(1);
}
