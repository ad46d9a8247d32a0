import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { CliError, EXIT, readAllStdin } from "../io";
import { stringFlag } from "./common";
import type { RunContext } from "./spec";

/** How long piped stdin may stay silent, when a prompt came from elsewhere, before it counts as empty. */
const STDIN_GRACE_MS = 1500;

/** Pure: looks like `<credential>/<model>` (no spaces), not like a sentence. */
export const MODEL_NAME = /^[A-Za-z0-9._-]+\/[^\s]+$/;

export interface Prompt {
  model?: string;
  text: string;
}

/**
 * The message from everywhere it may come, in this order: the arguments, `--text`, `--file` (`-` is
 * stdin), then piped stdin appended as context (as `claude -p` does). The first argument is the model
 * when it looks like one and a prompt comes from somewhere else too (or `-m` names the model).
 */
export async function gatherPrompt(
  ctx: RunContext,
  what: string,
  allowModel: boolean,
): Promise<Prompt | undefined> {
  const args = [...ctx.args];
  const text = stringFlag(ctx.values, "text");
  const file = stringFlag(ctx.values, "file");
  const piped = !ctx.io.stdinIsTTY;
  let model = allowModel ? stringFlag(ctx.values, "model") : undefined;
  if (allowModel && model === undefined && args[0] !== undefined && MODEL_NAME.test(args[0])) {
    if (args.length > 1 || text !== undefined || file !== undefined || piped) model = args.shift();
    else
      throw new CliError(
        `dispatch ${args[0]}: no prompt given: add it as an argument, with --text, --file or on stdin`,
        EXIT.usage,
      );
  }
  if (model !== undefined && !MODEL_NAME.test(model))
    throw new CliError(`--model: "${model}" is not <credential>/<model> (see: dispatch models)`, EXIT.usage);
  const parts: string[] = [];
  if (args.length > 0) parts.push(args.join(" "));
  if (text !== undefined) parts.push(text);
  if (file !== undefined)
    parts.push(file === "-" ? await readAllStdin(ctx.io) : readFileOrFail(file, ctx.io.cwd));
  if (piped && file !== "-") {
    // Context for a prompt given otherwise: an idle, never-closed stdin must not hang the command.
    const stdin = await readAllStdin(ctx.io, parts.length > 0 ? STDIN_GRACE_MS : undefined);
    if (stdin.trim()) parts.push(stdin);
  }
  const message = parts.join("\n\n");
  if (!message.trim()) {
    if (parts.length === 0 && model === undefined) return undefined;
    throw new CliError(
      `${what}: the message is empty: give it as an argument, with --text, --file or on stdin`,
      EXIT.usage,
    );
  }
  return model === undefined ? { text: message } : { model, text: message };
}

function readFileOrFail(path: string, cwd = process.cwd()): string {
  try {
    return readFileSync(resolve(cwd, path), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder" : (err as Error).message;
    throw new CliError(`--file ${path}: ${why}`, EXIT.usage);
  }
}

/** The folder `value` (relative to the caller's) as an absolute path that exists, or a usage error. */
export function existingFolder(value: string, cwd: string, flag: string): string {
  const abs = isAbsolute(value) ? value : resolve(cwd, value);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new CliError(`${flag} ${value}: no such folder (${abs})`, EXIT.usage);
  }
  if (!isDir) throw new CliError(`${flag} ${value}: not a folder (${abs})`, EXIT.usage);
  return abs;
}
