import type { Field, PermissionDecision, SurfaceSpec } from "@dispatch/protocol/types";
import { SurfaceActionError, type SurfaceProvider, unknownAction } from "@dispatch/surface-registry";
import { PERMISSIONS_SURFACE_ID, type PermissionGate, type PermissionRequestEvent } from "./contract";

const TITLE = "Permission requests";
const INPUT_PREVIEW_CHARS = 300;
const BUTTONS: readonly { decision: PermissionDecision; label: string }[] = [
  { decision: "allow", label: "Allow" },
  { decision: "deny", label: "Deny" },
  { decision: "always", label: "Always allow" },
];

/** Pure: the action id of one button, e.g. `allow:<requestId>`. */
export function permissionActionId(decision: PermissionDecision, requestId: string): string {
  return `${decision}:${requestId}`;
}

/** Pure: the decision and request id of a button's action id, or undefined for any other id. */
export function parsePermissionActionId(
  actionId: string,
): { decision: PermissionDecision; requestId: string } | undefined {
  const colon = actionId.indexOf(":");
  const decision = actionId.slice(0, colon);
  const requestId = actionId.slice(colon + 1);
  if (colon <= 0 || requestId === "" || !BUTTONS.some((b) => b.decision === decision)) return undefined;
  return { decision: decision as PermissionDecision, requestId };
}

function preview(input: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(input) ?? String(input);
  } catch {
    text = String(input);
  }
  return text.length > INPUT_PREVIEW_CHARS ? `${text.slice(0, INPUT_PREVIEW_CHARS)}…` : text;
}

/** Pure: the `permissions` spec of one conversation: per pending request its reason, input and buttons. */
export function permissionsSpec(requests: readonly PermissionRequestEvent[], region: string): SurfaceSpec {
  const fields: Field[] =
    requests.length === 0
      ? [{ kind: "stat", label: TITLE, value: "none pending" }]
      : requests.flatMap((r): Field[] => [
          { kind: "stat", label: r.toolName, value: r.reason },
          { kind: "stat", label: "Input", value: preview(r.input) },
          ...BUTTONS.map(
            (b): Field => ({
              kind: "button",
              label: b.label,
              action: { actionId: permissionActionId(b.decision, r.requestId) },
            }),
          ),
        ]);
  return { id: PERMISSIONS_SURFACE_ID, region, title: TITLE, fields };
}

/**
 * The per-conversation `permissions` surface. Actions: `allow:<id>`, `deny:<id>`, `always:<id>` (the
 * buttons), or `resolve` with payload `{ requestId, decision }`. Answering a request that is no longer
 * pending fails with SURFACE_ACTION_FAILED naming it.
 */
export function permissionsSurface(gate: PermissionGate, region = "composer"): SurfaceProvider {
  return {
    catalogEntry: { id: PERMISSIONS_SURFACE_ID, region, title: TITLE, scope: "conversation" },
    getSpec: (ctx) => permissionsSpec(ctx?.conversationId ? gate.pending(ctx.conversationId) : [], region),
    invoke(actionId, payload, ctx) {
      const answer = actionId === "resolve" ? payloadAnswer(payload) : parsePermissionActionId(actionId);
      if (!answer) throw unknownAction(actionId);
      const conversationId = ctx?.conversationId;
      if (!conversationId) {
        throw new SurfaceActionError("SURFACE_INVALID_PAYLOAD", "permissions actions need a conversationId");
      }
      const r = gate.resolve(conversationId, answer.requestId, answer.decision);
      if (!r.ok) throw new SurfaceActionError("SURFACE_ACTION_FAILED", r.error.message);
      return { requestId: answer.requestId, decision: answer.decision };
    },
    subscribe: (onChange) => gate.onPendingChanged((conversationId) => onChange({ conversationId })),
  };
}

function payloadAnswer(payload: unknown): { decision: PermissionDecision; requestId: string } {
  const p = (payload ?? {}) as { requestId?: unknown; decision?: unknown };
  const answer =
    typeof p.requestId === "string" && typeof p.decision === "string"
      ? parsePermissionActionId(`${p.decision}:${p.requestId}`)
      : undefined;
  if (!answer) {
    throw new SurfaceActionError(
      "SURFACE_INVALID_PAYLOAD",
      'action "resolve" needs a payload { requestId: string, decision: "allow" | "deny" | "always" }',
    );
  }
  return answer;
}
