/**
 * A crash during `run_shell`: the call is in the history as started before the command runs; the
 * command's processes (also one that left the group with setsid and one that ignores SIGTERM) outlive
 * the SIGKILLed daemon, and the restarted daemon kills them before it serves anything and records the
 * call as interrupted. Linux only (/proc).
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaemonProcess } from "./support/daemon";
import { chunkText, logProblems, readAllChunks } from "./support/turns";
import { pollUntil, WAIT_MS } from "./support/wait";
import { WsProbe } from "./support/ws-client";

const TOML = '[providers.local]\ndelayMs = 0\n[permission-gate]\ntools = { run_shell = "allow" }\n';
let daemon: DaemonProcess | undefined;
let cwd: string | undefined;

afterAll(async () => {
  await daemon?.dispose();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

/** Pids of running processes whose command line holds `needle` and that carry the run_shell marker. */
function marked(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "latin1");
      const state = readFileSync(`/proc/${name}/stat`, "latin1").split(") ")[1]?.[0];
      if (state === "Z" || !cmd.includes(needle)) continue;
      if (readFileSync(`/proc/${name}/environ`, "latin1").includes("DISPATCH_RUN_SHELL_ID="))
        out.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

test.skipIf(!existsSync("/proc/self/environ"))(
  "SIGKILL while run_shell runs: its processes are killed at restart, the call is recorded interrupted",
  async () => {
    cwd = await mkdtemp(join(tmpdir(), "dispatch-toolcrash-"));
    daemon = await DaemonProcess.start({ toml: TOML });
    const conversationId = crypto.randomUUID();
    // A unique sleep length names this test's processes.
    const secs = `31${Math.floor(Math.random() * 1e6)}`;
    const command = `setsid sleep ${secs} & (trap '' TERM; sleep ${secs}) & sleep ${secs}`;
    const probe = await WsProbe.connect(daemon.wsUrl, daemon.token, { label: "tool" });
    const message = `run it\n/tool run_shell ${JSON.stringify({ command })}`;
    const ack = await probe.request({ type: "chat.send", conversationId, message, cwd });
    expect(ack.type).toBe("ack");
    await pollUntil(
      () => (marked(secs).length >= 3 ? true : undefined),
      WAIT_MS,
      "the command's three sleeps",
    );
    probe.close();
    await daemon.kill();
    // The crash orphaned them: they are still running.
    expect(marked(secs).length).toBeGreaterThanOrEqual(3);

    daemon = await daemon.restart();
    // Recovery runs before the daemon is ready: nothing of the command is left.
    await pollUntil(() => (marked(secs).length === 0 ? true : undefined), 5_000, "the orphans gone");
    const chunks = await readAllChunks(daemon.http, conversationId, 50);
    expect(logProblems(conversationId, chunks)).toEqual([]);
    const call = chunks.find((c) => c.chunk.type === "tool-call");
    const result = chunks.find((c) => c.chunk.type === "tool-result");
    expect(call?.chunk).toMatchObject({ type: "tool-call", toolName: "run_shell", input: { command } });
    expect(result?.chunk).toMatchObject({ type: "tool-result", isError: true });
    expect(result?.chunk.type === "tool-result" && result.chunk.content).toContain("interrupted");
    expect(chunks.some((c) => c.chunk.type === "error" && chunkText(c).includes("interrupted"))).toBe(true);
    expect(await daemon.http.status(conversationId)).toMatchObject({ isActive: false, status: "idle" });
  },
  60_000,
);
