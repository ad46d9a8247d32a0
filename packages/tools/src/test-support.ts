/** Shared by the tests of this package: temp folders and tool contexts (not exported from index). */

import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { ToolContext } from "./contract";

export interface TempDir extends AsyncDisposable {
  /** realpath of the folder. */
  readonly path: string;
  join(...parts: string[]): string;
  write(rel: string, content: string | Uint8Array): Promise<string>;
}

/** A fresh folder under os.tmpdir(), removed on dispose. */
export async function tempDir(prefix = "dispatch-tools-"): Promise<TempDir> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  return {
    path: dir,
    join: (...parts) => path.join(dir, ...parts),
    async write(rel, content) {
      const file = path.join(dir, rel);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, content);
      return file;
    },
    [Symbol.asyncDispose]: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

export interface RecordingContext extends ToolContext {
  readonly output: { data: string; stream: "stdout" | "stderr" }[];
  readonly controller: AbortController;
}

/** A ToolContext for `cwd` that records streamed output; `onOutput` hooks a listener. */
export function toolContext(cwd: string, onOutput?: (data: string) => void): RecordingContext {
  const controller = new AbortController();
  const output: RecordingContext["output"] = [];
  return {
    conversationId: "c1",
    turnId: "t1",
    toolCallId: "call-1",
    cwd,
    signal: controller.signal,
    controller,
    output,
    onOutput(data, stream) {
      output.push({ data, stream });
      onOutput?.(data);
    },
  };
}

/** Resolves when `predicate` holds (polled); rejects naming `what` after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}
