import type { Field, PermissionDecision, SurfaceSpec } from "@dispatch/protocol/types";
import {
  SurfaceActionError,
  type SurfaceContext,
  type SurfaceProvider,
  unknownAction,
} from "@dispatch/surface-registry/contract";
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

/** The title shown for a conversation in the global view (undefined: its id is shown). */
export type TitleOf = (conversationId: string) => string | undefined;

/**
 * Pure: the `permissions` spec: per pending request its reason, input and buttons. With `titleOf` it is
 * the global view (requests of several conversations): each request also names its conversation.
 */
export function permissionsSpec(
  requests: readonly PermissionRequestEvent[],
  region: string,
  titleOf?: TitleOf,
): SurfaceSpec {
  const fields: Field[] =
    requests.length === 0
      ? [{ kind: "stat", label: TITLE, value: "none pending" }]
      : requests.flatMap((r): Field[] => [
          ...(titleOf === undefined
            ? []
            : [
                {
                  kind: "stat",
                  label: "Conversation",
                  value: titleOf(r.conversationId) || r.conversationId,
                } satisfies Field,
              ]),
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
 * The `permissions` surface. Subscribed with a `conversationId` it lists that conversation's pending
 * requests; without one (level-1 frontends, PROTOCOL.md §7) it is the global view: every pending
 * request of every conversation, each naming its conversation's title. Actions: `allow:<id>`,
 * `deny:<id>`, `always:<id>` (the buttons: the request id is enough, no payload and no conversation
 * needed), or `resolve` with payload `{ requestId, decision }`. Answering a request that is no longer
 * pending fails with SURFACE_ACTION_FAILED naming it.
 */
export function permissionsSurface(
  gate: PermissionGate,
  region = "composer",
  titleOf: TitleOf = () => undefined,
): SurfaceProvider {
  return {
    catalogEntry: { id: PERMISSIONS_SURFACE_ID, region, title: TITLE, scope: "conversation" },
    getSpec: (ctx) =>
      ctx?.conversationId
        ? permissionsSpec(gate.pending(ctx.conversationId), region)
        : permissionsSpec(gate.allPending(), region, titleOf),
    invoke(actionId, payload, ctx) {
      const answer = actionId === "resolve" ? payloadAnswer(payload) : parsePermissionActionId(actionId);
      if (!answer) throw unknownAction(actionId);
      const conversationId = conversationOf(gate, answer.requestId, ctx);
      const r = gate.resolve(conversationId, answer.requestId, answer.decision);
      if (!r.ok) throw new SurfaceActionError("SURFACE_ACTION_FAILED", r.error.message);
      return { requestId: answer.requestId, decision: answer.decision };
    },
    subscribe: (onChange) => gate.onPendingChanged((conversationId) => onChange({ conversationId })),
  };
}

/** The conversation a request belongs to: the context's, else found by the (unique) request id. */
function conversationOf(gate: PermissionGate, requestId: string, ctx: SurfaceContext | undefined): string {
  if (ctx?.conversationId) return ctx.conversationId;
  const found = gate.allPending().find((r) => r.requestId === requestId);
  if (found) return found.conversationId;
  throw new SurfaceActionError(
    "SURFACE_ACTION_FAILED",
    `no pending permission request "${requestId}" (already answered, timed out, or never asked)`,
  );
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
