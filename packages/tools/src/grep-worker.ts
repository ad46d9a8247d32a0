/** Worker entry of grep: runs one search (grep-search.ts) and posts its ToolResult back. */

import type { ToolResult } from "./contract";
import { type GrepRequest, grepSearch } from "./grep-search";
import { failure } from "./tool-result";

declare const self: Worker;

self.onmessage = async (event: MessageEvent<GrepRequest>) => {
  let result: ToolResult;
  try {
    result = await grepSearch(event.data);
  } catch (e) {
    result = failure({ code: "TOOL_IO_ERROR", message: `grep failed: ${(e as Error).message ?? String(e)}` });
  }
  self.postMessage(result);
};
