/**
 * The real `dispatch` binary on a pseudo-terminal (Bun's PTY) against a real daemon: permission
 * requests are asked and answered on the keyboard, colours and the spinner appear only here.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { reap, startDaemon, tempHome, WsClient } from "@dispatch/daemon/test-support";
import { daemonForFile, ttyCli } from "./cli.test-support";

// Every test spawns processes; a loaded machine needs more than the default 5 s (hooks included).
setDefaultTimeout(30_000);

const file = daemonForFile();

const PROMPT = "[y]es / [n]o / [a]lways: ";
const writeNote = (name: string) =>
  `/tool write_file ${JSON.stringify({ path: name, content: "typed yes", overwrite: false })}`;

/** The conversation id the CLI prints first on a terminal. */
const conversationOf = (output: string) => /conversation ([0-9a-f-]{36})/.exec(output)?.[1] as string;

interface Window {
  chunks: { chunk: { type: string; toolName?: string; isError?: boolean; content?: unknown } }[];
}

/** Resolves once the conversation has no running turn (subscribed before looking, so nothing is missed). */
async function turnSettled(conversationId: string): Promise<void> {
  const ws = new WsClient(`ws://127.0.0.1:${file.daemon.info.wsPort}`, [
    `dispatch.token.${file.daemon.token}`,
  ]);
  try {
    await ws.next((f) => f.type === "catalog", "the catalog frame");
    ws.ws.send(JSON.stringify({ type: "chat.subscribe", conversationId, id: "watch" }));
    await ws.next((f) => f.type === "ack" && f.replyTo === "watch", "the subscription's ack");
    const status = (await (await file.daemon.api(`/conversations/${conversationId}/status`)).json()) as {
      isActive: boolean;
    };
    if (status.isActive) {
      await ws.next(
        (f) => f.type === "chat.delta" && (f.event as { type: string }).type === "turn-sealed",
        "the turn to be sealed",
      );
    }
  } finally {
    ws.ws.close();
  }
}

test("a spinner waits for the first token; then the answer streams", async () => {
  // 150 ms before every token: the spinner (80 ms frames) shows before the first one.
  const run = ttyCli(file.home, ["local/echo", "--text", "/slow 150\nspin"]);
  await run.waitFor("waiting for the model");
  expect(await run.exited()).toBe(0);
  const spinnerAt = run.output.indexOf("waiting for the model");
  const cleared = run.output.indexOf("\r\x1b[K", spinnerAt);
  expect(cleared).toBeGreaterThan(spinnerAt);
  expect(cleared).toBeLessThan(run.output.indexOf("Echo from"));
  expect(run.output).toContain("spin");
});

test("y at the prompt allows the tool; tool lines are in colour", async () => {
  const cwd = await tempHome();
  const run = ttyCli(file.home, ["local/echo", "--cwd", cwd, "--text", writeNote("yes.txt")]);
  await run.waitFor(PROMPT);
  run.type("y\r");
  expect(await run.exited()).toBe(0);
  expect(await readFile(join(cwd, "yes.txt"), "utf8")).toBe("typed yes");
  expect(run.output).toContain("permission allow");
  expect(run.output).toContain("\x1b[36m▸ write_file"); // the tool call, in colour
  expect(run.output).toContain("The tool write_file returned");
});

test("Ctrl-D at the prompt denies and the turn ends normally", async () => {
  const cwd = await tempHome();
  const run = ttyCli(file.home, ["local/echo", "--cwd", cwd, "--text", writeNote("eof.txt")]);
  await run.waitFor(PROMPT);
  run.type("\x04");
  expect(await run.exited()).toBe(0);
  expect(run.output).toContain("end of input: denied write_file");
  expect(run.output).toContain("The tool write_file failed");
  expect(await Bun.file(join(cwd, "eof.txt")).exists()).toBe(false);
});

test("Ctrl-C at the prompt denies, stops the turn, says how to continue and exits 130", async () => {
  const cwd = await tempHome();
  const run = ttyCli(file.home, ["local/echo", "--cwd", cwd, "--text", writeNote("int.txt")]);
  await run.waitFor(PROMPT);
  run.type("\x03");
  expect(await run.exited()).toBe(130);
  const id = conversationOf(run.output);
  expect(run.output).toContain("interrupted: denied write_file");
  expect(run.output).toContain(
    `interrupted: stopped the turn of ${id}; continue with: dispatch -r ${id.slice(0, 8)}`,
  );
  await turnSettled(id);
  // The denial reached the daemon: the tool's result is the refusal, not a request still waiting.
  const history = await (await file.daemon.api(`/conversations/${id}`)).json();
  const result = (history as Window).chunks.find((c) => c.chunk.type === "tool-result");
  expect(result?.chunk).toMatchObject({ toolName: "write_file", isError: true });
  expect(await Bun.file(join(cwd, "int.txt")).exists()).toBe(false);
});

test("Ctrl-C while the answer streams stops the turn in the daemon, clears the spinner, prints the id", async () => {
  const run = ttyCli(file.home, ["local/echo", "--text", "/slow 60\n/long 2000\nstream on"]);
  await run.waitFor("word3 ");
  run.type("\x03");
  expect(await run.exited()).toBe(130);
  const id = conversationOf(run.output);
  expect(run.output).toContain(
    `interrupted: stopped the turn of ${id}; continue with: dispatch -r ${id.slice(0, 8)} "…"`,
  );
  expect(run.output).toContain("[turn ended: aborted]");
  expect(run.output).not.toContain("word1999");
  // The spinner line was cleared before anything else was written after it.
  const spinnerAt = run.output.lastIndexOf("waiting for the model");
  if (spinnerAt >= 0) expect(run.output.indexOf("\r\x1b[K", spinnerAt)).toBeGreaterThan(spinnerAt);
  // The daemon stopped the turn (not merely the CLI leaving): idle, and the history says aborted.
  const status = (await (await file.daemon.api(`/conversations/${id}/status`)).json()) as {
    isActive: boolean;
  };
  expect(status.isActive).toBe(false);
  const history = (await (await file.daemon.api(`/conversations/${id}`)).json()) as Window;
  const text = JSON.stringify(history.chunks);
  expect(text).not.toContain("word1999");
});

test("a second Ctrl-C exits at once, even when the daemon does not answer the stop", async () => {
  const daemon = await startDaemon(await tempHome());
  try {
    const run = ttyCli(daemon.home, ["local/echo", "--text", "/slow 60\n/long 2000\nstream on"]);
    await run.waitFor("word3 ");
    daemon.proc.kill("SIGSTOP"); // the stop request now hangs, and so does the stream
    run.type("\x03");
    await run.waitFor("Ctrl-C again to exit now");
    run.type("\x03");
    expect(await run.exited()).toBe(130);
    expect(run.output).toContain("interrupted again: exiting now");
  } finally {
    daemon.proc.kill("SIGCONT");
    await daemon.stop().catch(() => reap(daemon));
  }
});

test("the prompt shows the complete command, escapes made visible, never cut", async () => {
  const cwd = await tempHome();
  const command = `echo safe${"\x1b[1D".repeat(60)}\r; echo hidden-tail`;
  const run = ttyCli(file.home, [
    "local/echo",
    "--cwd",
    cwd,
    "--text",
    `/tool run_shell ${JSON.stringify({ command })}`,
  ]);
  await run.waitFor(PROMPT);
  run.type("n\r");
  expect(await run.exited()).toBe(0);
  const prompt = run.output.slice(run.output.indexOf("wants to run with this input"));
  expect(prompt).toContain("\\u001b[1D"); // JSON's escape of ESC, shown as text
  expect(prompt.replace(/\r?\n {4}/g, "")).toContain("hidden-tail");
  expect(prompt).toMatch(/characters in \d+ lines, shown in full/);
  // Nothing the model sent moved the cursor: the only ESC [ 1 D sequences are none at all.
  expect(run.output).not.toContain("\x1b[1D");
});

test("the daemon's log on a terminal honours NO_COLOR and FORCE_COLOR", async () => {
  for (const [env, coloured] of [
    [{ NO_COLOR: "1" }, false],
    [{}, true],
    [{ TERM: "dumb" }, false],
  ] as const) {
    const home = await tempHome();
    const run = ttyCli(home, ["serve"], env);
    await run.waitFor("ready (pid");
    run.type("\x03");
    await run.exited();
    expect({ env, coloured: run.output.includes("\x1b[") }).toEqual({ env, coloured });
  }
});
