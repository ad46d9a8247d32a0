import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import path from "node:path";
import { crashChunks, STEP_CHUNKS } from "./crash-step";
import { openTestStore, tempDb, unwrap } from "./test-support";

const CHILD = path.join(import.meta.dir, "crash-child.ts");

/** Rejects with a message saying what was awaited when `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the child appender on `file`, SIGKILLs it once it has reported `commits` commits, drains what
 * it printed before dying, and returns every lastSeq it reported.
 */
async function appendThenKill(file: string, commits: number): Promise<number[]> {
  const child = Bun.spawn([process.execPath, CHILD, file], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const reported: number[] = [];
  const pump = async (stopAt: number) => {
    while (reported.length < stopAt) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) reported.push(Number(line));
    }
  };
  try {
    await within(pump(commits), 15_000, `the child to report ${commits} committed steps`);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}; child stderr: ${await new Response(child.stderr).text()}`);
  }
  child.kill("SIGKILL"); // mid-stream: the child is appending as fast as it can
  await within(child.exited, 5_000, "the killed child to exit");
  await within(pump(Number.POSITIVE_INFINITY), 5_000, "the child's stdout to close");
  expect(child.signalCode).toBe("SIGKILL");
  return reported;
}

/** Checks the reopened file holds a gap-free prefix of the deterministic steps, covering `reported`. */
function checkLog(file: string, reported: number[]): number {
  const raw = new Database(file);
  expect(raw.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  raw.close();
  using store = openTestStore(file);
  const { chunks } = unwrap(store.readWindow("c"));
  const n = chunks.length;
  expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(store.getConversation("c")?.lastSeq).toBe(n);
  // Whole steps only, and at most the one step committed between its commit and its report.
  const lastReported = reported.at(-1) ?? 0;
  expect(n % STEP_CHUNKS).toBe(0);
  expect([lastReported, lastReported + STEP_CHUNKS]).toContain(n);
  // Nothing else: every chunk is exactly the one the fixture wrote at that seq.
  for (let step = 0; step < n / STEP_CHUNKS; step++) {
    const got = chunks.slice(step * STEP_CHUNKS, (step + 1) * STEP_CHUNKS);
    expect(got.map((c) => c.chunk)).toEqual(crashChunks(step));
    expect(got.map((c) => c.messageId)).toEqual([`u${step}`, `a${step}`, `a${step}`]);
  }
  return n;
}

test("SIGKILL mid-stream leaves a gap-free prefix of the committed steps, and appending resumes", async () => {
  using tmp = tempDb();
  const first = await appendThenKill(tmp.file, 60);
  expect(first.slice(0, 3)).toEqual([3, 6, 9]);
  const n1 = checkLog(tmp.file, first);

  const second = await appendThenKill(tmp.file, 40);
  expect(second[0]).toBe(n1 + STEP_CHUNKS); // continued right after the surviving prefix
  const n2 = checkLog(tmp.file, second);
  expect(n2).toBeGreaterThan(n1);
}, 30_000);
