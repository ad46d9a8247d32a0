/**
 * The whole suite in one command: lint, typecheck, tests, quick benchmark.
 * Each stage streams its output; the run stops at the first failing stage and exits non-zero.
 * It ends with the test runner's counts as a plain "N passed, N failed" line.
 */
import { haveRedis, startRedisServer, TEST_REDIS_ENV } from "@dispatch/testkit";
import { assertBunVersion } from "./check-bun.ts";

assertBunVersion();

class StageFailed extends Error {
  constructor(readonly exitCode: number) {
    super(`stage failed with exit ${exitCode}`);
  }
}

async function stage(name: string, cmd: string[], capture = false): Promise<string> {
  console.log(`\n== ${name}: ${cmd.join(" ")}`);
  const proc = Bun.spawn(cmd, { stdout: capture ? "pipe" : "inherit", stderr: capture ? "pipe" : "inherit" });
  let out = "";
  if (capture) {
    const decoder = new TextDecoder();
    const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        out += text;
        sink.write(text);
      }
    };
    await Promise.all([
      pump(proc.stdout as ReadableStream<Uint8Array>, process.stdout),
      pump(proc.stderr as ReadableStream<Uint8Array>, process.stderr),
    ]);
  }
  const code = await proc.exited;
  if (code !== 0) {
    if (capture) printSummary(out);
    console.error(`\n${name} failed (exit ${code})`);
    throw new StageFailed(code || 1);
  }
  return out;
}

/** Pure: bun test's own closing lines (pass/skip/todo/fail counts and "Ran N tests across M files."). */
export function runnerSummary(output: string): { lines: string[]; passed: number; failed: number } {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^\d+ (pass|skip|todo|fail)$/.test(l) || /^Ran \d+ tests? across \d+ files?\./.test(l));
  const count = (word: string) =>
    Number(/^\s*(\d+) /m.exec(lines.find((l) => l.endsWith(` ${word}`)) ?? "")?.[1] ?? 0);
  return { lines, passed: count("pass"), failed: count("fail") };
}

function printSummary(output: string): void {
  const summary = runnerSummary(output);
  console.log(`\n${summary.lines.join("\n")}`);
  console.log(`tests: ${summary.passed} passed, ${summary.failed} failed`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    if (!(e instanceof StageFailed)) throw e;
    process.exit(e.exitCode);
  }
}

async function main(): Promise<void> {
  await stage("lint", ["bun", "x", "biome", "check", "."]);
  await stage("typecheck", ["bun", "x", "tsc", "--noEmit", "-p", "tsconfig.json"]);
  // One private redis-server on a free loopback port for the tests and the bench that need one (they
  // read its URL from the env; without it each test file starts its own, or skips without redis-server).
  const redis = haveRedis ? await startRedisServer() : undefined;
  if (redis) process.env[TEST_REDIS_ENV] = redis.url;
  else console.warn("run-tests: no redis-server on PATH; the relay tests will be skipped");
  try {
    const testOutput = await stage("test", ["bun", "test", "--timeout", "30000"], true);
    if (await Bun.file("bench/run.ts").exists())
      await stage("bench:quick", ["bun", "bench/run.ts", "--quick"]);
    printSummary(testOutput);
  } finally {
    await redis?.stop();
  }
}
