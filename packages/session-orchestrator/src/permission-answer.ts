import type { PermissionDecision } from "@dispatch/protocol/types";
import type { PermissionGate } from "@dispatch/tools/contract";
import type { Result } from "./contract";
import { fail } from "./result";

/**
 * A client's answer to a permission request, given to the gate directly (the orchestrator holds no
 * state about it). Every refusal — no gate installed, a request the gate does not know or no longer
 * has pending, an invalid decision — is ORCH_UNKNOWN_PERMISSION_REQUEST, the code clients know.
 * `reason` (a deny's, as the tool result shows it) defaults to "denied by the user".
 */
export function answerPermission(
  gate: Pick<PermissionGate, "resolve"> | undefined,
  conversationId: string,
  requestId: string,
  decision: PermissionDecision,
  reason?: string,
): Result<void> {
  if (!gate) return fail("ORCH_UNKNOWN_PERMISSION_REQUEST", "no permission gate is installed");
  const r = gate.resolve(conversationId, requestId, decision, reason);
  return r.ok ? { ok: true, value: undefined } : fail("ORCH_UNKNOWN_PERMISSION_REQUEST", r.error.message);
}
