#!/usr/bin/env bun
import { runCli } from "./run";

// `dispatch list | head -1`: the reader has gone; that is a normal end, not an error to print.
const quietOnEpipe = (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
};
process.stdout.on("error", quietOnEpipe);
process.stderr.on("error", quietOnEpipe);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: Boolean(process.stdin.isTTY),
  env: process.env,
});
process.exitCode = code;
