/**
 * HTTP's path into the operations core: a route builds a `Command` and the caller it comes from, the
 * core decides, the shared interpreter runs the effects, and the one reply becomes the route's value
 * or its coded failure. Routes never call the orchestrator for a client operation themselves.
 *
 * An HTTP caller has no connection: the core never asks it to watch or subscribe (a turn's events
 * reach it through the response stream instead).
 */
import {
  type Caller,
  type Command,
  decide,
  type EffectHandles,
  type OperationsView,
  OWNER,
  type Reply,
  type Role,
  runEffects,
} from "@dispatch/operations";
import { DEFAULT_PROTOCOL_LEVEL, type ProtocolLevel } from "@dispatch/protocol";
import { heldToken } from "./admission";
import { failureFrom, type HttpFailure } from "./errors";
import { Failure } from "./request";

/** HTTP offers no surfaces; turns without a conversation get a fresh UUID. */
export const httpOperationsView: OperationsView = {
  surfaceScope: () => undefined,
  newConversationId: () => crypto.randomUUID(),
  server: { name: "dispatch", version: "0.1.0" },
};

const none: ReadonlySet<string> = new Set();

const roles = new WeakMap<Request, Role>();

/** Records the role admission gave `req` (the guard does, for a share viewer); default: owner. */
export function setRequestRole(req: Request, role: Role): void {
  roles.set(req, role);
}

/** The role admission gave `req`. */
export function requestRole(req: Request): Role {
  return roles.get(req) ?? OWNER;
}

/** The caller a request is: its role, token holder or not, at the level it asked for. */
export function httpCaller(req: Request, level: ProtocolLevel = DEFAULT_PROTOCOL_LEVEL): Caller {
  return {
    role: requestRole(req),
    level,
    authenticated: heldToken(req),
    connected: false,
    greeted: false,
    spoken: false,
    surfaces: none,
    conversations: none,
    channels: none,
  };
}

/** What one command came to: the service's value, or the failure with the status its code implies. */
export type CommandOutcome = { ok: true; value: unknown } | { ok: false; failure: HttpFailure };

/** Pure: the outcome of the replies a request/response command produced (its last `done` or `failed`). */
export function outcomeOf(replies: readonly Reply[]): CommandOutcome {
  for (const r of [...replies].reverse()) {
    if (r.kind === "failed") return { ok: false, failure: failureFrom(r.error) };
    if (r.kind === "done") return { ok: true, value: r.value };
  }
  return { ok: true, value: undefined };
}

/** Decides `command` for `caller` and runs its effects; resolves with the outcome. */
export async function runCommand(
  handles: Omit<EffectHandles, "connection">,
  command: Command,
  caller: Caller,
): Promise<CommandOutcome> {
  const decision = decide(command, caller, httpOperationsView);
  const replies = [...decision.replies];
  await runEffects(decision.effects, handles, (r) => replies.push(r));
  return outcomeOf(replies);
}

/** Runs one command for a request; resolves with the value, or aborts the route with its failure. */
export type RunOperation = (command: Command, req: Request, level?: ProtocolLevel) => Promise<unknown>;

/** Binds `runCommand` to the service handles: the one path from a route to a service. */
export function operationRunner(handles: Omit<EffectHandles, "connection">): RunOperation {
  return async (command, req, level) => {
    const o = await runCommand(handles, command, httpCaller(req, level));
    if (!o.ok) throw new Failure(o.failure);
    return o.value;
  };
}
