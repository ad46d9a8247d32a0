import type { OrchestratorErrorCode, Result } from "./contract";

/** Pure: a failed Result with `code` and a message naming the culprit. */
export function fail<T>(code: OrchestratorErrorCode, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}

export const unknownConversation = <T>(id: string): Result<T> =>
  fail("ORCH_UNKNOWN_CONVERSATION", `unknown conversation "${id}"`);

/**
 * Pure: a model the catalog cannot resolve. A missing API key keeps its own code (ORCH_MISSING_API_KEY)
 * so clients can tell "configure a key" from "pick another model"; the message names what to set.
 */
export function modelRefusal<T>(error: { code: string; message: string }): Result<T> {
  return fail(
    error.code === "PROVIDER_MISSING_API_KEY" ? "ORCH_MISSING_API_KEY" : "ORCH_UNKNOWN_MODEL",
    error.message,
  );
}
