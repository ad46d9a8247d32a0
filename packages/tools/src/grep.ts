import type { Tool, ToolResult } from "./contract";
import { defineTool } from "./define-tool";
import { failure, pathSubject } from "./file-tool";
import { GrepLimits, GrepParams } from "./grep-params";
import { compilePattern, type GrepRequest } from "./grep-search";
import { formatBytes } from "./text";

export { GrepLimits } from "./grep-params";
export { fileFilter } from "./grep-search";

/**
 * In a single-file binary (`bun run build:binary`, scripts/build-binary.ts) the worker is an extra
 * entrypoint bundled under the repository root of Bun's embedded file system; elsewhere it is the file
 * next to this one.
 */
const WORKER_URL: string | URL = import.meta.url.startsWith("file:///$bunfs/")
  ? "/$bunfs/root/packages/tools/src/grep-worker.ts"
  : new URL("./grep-worker.ts", import.meta.url);

/**
 * Runs the search in a fresh worker and settles with its result, or terminates it on `signal`
 * (TOOL_ABORTED) or after `timeoutMs` (TOOL_TIMEOUT).
 */
function searchInWorker(req: GrepRequest, signal: AbortSignal, timeoutMs: number): Promise<ToolResult> {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL);
  } catch (e) {
    return Promise.resolve(
      failure({
        code: "TOOL_IO_ERROR",
        message: `grep: could not start the search: ${(e as Error).message}`,
      }),
    );
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ToolResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      worker.terminate();
      resolve(result);
    };
    const onAbort = () => finish(failure({ code: "TOOL_ABORTED", message: "the turn was stopped" }));
    const timer = setTimeout(
      () =>
        finish(
          failure({
            code: "TOOL_TIMEOUT",
            message:
              `grep: the search ran past ${timeoutMs} ms and was stopped. A pattern with nested repetition ` +
              "such as (a+)+ can take forever on some lines: simplify /pattern, or narrow /path or /glob",
          }),
        ),
      timeoutMs,
    );
    signal.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<ToolResult>) => finish(event.data);
    worker.onerror = (event) =>
      finish(failure({ code: "TOOL_IO_ERROR", message: `grep: the search failed: ${event.message}` }));
    worker.postMessage(req);
  });
}

export function grepTool(limits: Partial<GrepLimits> = {}): Tool {
  const lim = GrepLimits.parse(limits);
  return defineTool({
    name: "grep",
    description:
      "Search file contents with a regular expression inside the working directory. Prints `path:line: text`. " +
      "Skips binary files, files over " +
      formatBytes(lim.maxFileBytes) +
      ", node_modules and .git (unless includeIgnored), and files the permission rules deny or ask for " +
      "(the result says how many; read_file asks for the latter).",
    parameters: GrepParams,
    permission: (args, cwd) => pathSubject("read", cwd, args.path),
    async execute(args, ctx) {
      if (ctx.signal.aborted) return failure({ code: "TOOL_ABORTED", message: "the turn was stopped" });
      // A syntax error is reported without starting a worker.
      const regex = compilePattern(args.pattern, args.ignoreCase);
      if (!(regex instanceof RegExp)) return regex;
      const req: GrepRequest = { cwd: ctx.cwd, args, limits: lim };
      if (ctx.searchAccess) req.access = ctx.searchAccess;
      return searchInWorker(req, ctx.signal, lim.timeoutMs);
    },
  });
}
