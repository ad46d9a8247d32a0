/** Building tool results (dependency-free: the grep worker imports it). */

import type { ToolResult } from "./contract";
import type { Failure } from "./fs-root";

/** An error result carrying the failure's code. */
export function failure(f: Failure): ToolResult {
  return { content: f.message, isError: true, code: f.code };
}

export function success(content: string): ToolResult {
  return { content, isError: false };
}
