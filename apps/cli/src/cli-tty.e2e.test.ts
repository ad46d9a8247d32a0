/**
 * The real `dispatch` binary on a pseudo-terminal (Bun's PTY) against a real daemon: permission
 * requests are asked and answered on the keyboard, colours and the spinner appear only here.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempHome, WsClient } from "@dispatch/daemon/test-support";
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

test("Ctrl-C at the prompt denies, exits 130 and leaves the turn to finish in the daemon", async () => {
  const cwd = await tempHome();
  const run = ttyCli(file.home, ["local/echo", "--cwd", cwd, "--text", writeNote("int.txt")]);
  await run.waitFor(PROMPT);
  run.type("\x03");
  expect(await run.exited()).toBe(130);
  expect(run.output).toContain("interrupted: denied write_file; the turn goes on in the daemon");
  const id = conversationOf(run.output);
  await turnSettled(id);
  // The denial reached the daemon: the tool's result is the refusal, not a request still waiting.
  const history = await (await file.daemon.api(`/conversations/${id}`)).json();
  const result = (history as Window).chunks.find((c) => c.chunk.type === "tool-result");
  expect(result?.chunk).toMatchObject({ toolName: "write_file", isError: true });
  expect(await Bun.file(join(cwd, "int.txt")).exists()).toBe(false);
});
