#!/usr/bin/env bun
import { runCli } from "./run";

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: Boolean(process.stdin.isTTY),
  env: process.env,
});
process.exitCode = code;
