import type { OrchestratorErrorCode, Result } from "./contract";

/** Pure: a failed Result with `code` and a message naming the culprit. */
export function fail<T>(code: OrchestratorErrorCode, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}

export const unknownConversation = <T>(id: string): Result<T> =>
  fail("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${id}"`);
