/**
 * The permission gate: the policy decides allow / ask / deny; "ask" emits a `permission-request`,
 * waits for an answer (resolve), the timeout or the turn's abort, then emits `permission-resolved`.
 * Pending requests are kept per conversation (so transports can re-send them to late subscribers) and,
 * when a conversation store is installed, persisted with the turn and marked resolved.
 */

import type { PermissionRequests } from "@dispatch/conversation-store/contract";
import type { Disposer, Logger } from "@dispatch/kernel";
import { silentLogger } from "@dispatch/kernel";
import type { PermissionDecision } from "@dispatch/protocol/types";
import type {
  PermissionCheckRequest,
  PermissionError,
  PermissionGate,
  PermissionIO,
  PermissionRequestEvent,
  PermissionVerdict,
  Result,
} from "./contract";
import {
  decide,
  describeRemembered,
  describeSubject,
  type PermissionConfig,
  type PolicyDecision,
  type Remembered,
  remembered,
  rememberedAnywhere,
  rememberFor,
  searchAccess,
} from "./policy";

/** The subset of the conversation store the gate uses (persistence is best-effort). */
export type PermissionStore = Pick<PermissionRequests, "savePermissionRequest" | "resolvePermissionRequest">;

export interface PermissionGateOptions {
  config: PermissionConfig;
  store?: PermissionStore;
  logger?: Logger;
  /** Epoch ms; default Date.now. */
  clock?: () => number;
  /** Request ids; default crypto.randomUUID. */
  newId?: () => string;
}

/** Who decided a call: the policy, an earlier "always", the user, or the gate itself. */
export type DecidedBy = "policy" | "remembered" | "grant" | "user" | "timeout" | "turn-stopped" | "shutdown";

interface Pending {
  event: PermissionRequestEvent;
  settle(decision: PermissionDecision, by: DecidedBy, reason?: string): void;
}

const DECISIONS: readonly PermissionDecision[] = ["allow", "deny", "always"];

export interface PermissionGateImpl extends PermissionGate {
  /** Denies every pending request ("the daemon is shutting down"); for the extension's disposal. */
  denyAll(reason: string): void;
}

export function createPermissionGate(opts: PermissionGateOptions): PermissionGateImpl {
  const { config, store } = opts;
  const logger = opts.logger ?? silentLogger;
  const clock = opts.clock ?? Date.now;
  const newId = opts.newId ?? (() => crypto.randomUUID());
  const pending = new Map<string, Map<string, Pending>>();
  const memory = new Map<string, Remembered[]>();
  const listeners = new Set<(conversationId: string) => void>();

  const notify = (conversationId: string) => {
    for (const l of [...listeners]) {
      try {
        l(conversationId);
      } catch (e) {
        logger.error("permission listener threw", { error: String(e) });
      }
    }
  };

  /** One info line per decision: tool, decision, who decided (never the call's input). */
  const logDecision = (req: PermissionCheckRequest, decision: PermissionDecision, by: DecidedBy) =>
    logger.info("permission decided", {
      conversationId: req.conversationId,
      turnId: req.turnId,
      tool: req.toolName,
      kind: req.subject.kind,
      decision,
      by,
    });

  const persist = (what: string, r: { ok: boolean; error?: { code: string; message: string } }) => {
    if (!r.ok)
      logger.warn(`could not ${what} a permission request`, {
        code: r.error?.code,
        message: r.error?.message,
      });
  };

  function ask(
    req: PermissionCheckRequest,
    io: PermissionIO,
    policy: PolicyDecision,
  ): Promise<PermissionVerdict> {
    if (io.signal.aborted) return Promise.resolve({ decision: "deny", reason: "the turn was stopped" });
    const requestId = newId();
    const event: PermissionRequestEvent = {
      type: "permission-request",
      conversationId: req.conversationId,
      turnId: req.turnId,
      requestId,
      toolCallId: req.toolCallId,
      toolName: req.toolName,
      input: req.input,
      reason: `${describeSubject(req)} (${policy.why}; ${
        policy.protected
          ? `"always" allows only this write: protected paths ask every time`
          : describeRemembered(rememberFor(req))
      })`,
    };
    return new Promise<PermissionVerdict>((done) => {
      const byId = pending.get(req.conversationId) ?? new Map<string, Pending>();
      pending.set(req.conversationId, byId);
      const onAbort = () => entry.settle("deny", "turn-stopped", "the turn was stopped");
      const timer = setTimeout(
        () => entry.settle("deny", "timeout", `no answer within ${Math.round(config.timeoutMs / 1000)} s`),
        config.timeoutMs,
      );
      const entry: Pending = {
        event,
        settle(decision, by, reason) {
          if (!byId.delete(requestId)) return;
          logDecision(req, decision, by);
          if (byId.size === 0 && pending.get(req.conversationId) === byId) pending.delete(req.conversationId);
          clearTimeout(timer);
          io.signal.removeEventListener("abort", onAbort);
          // "always" on a protected path allows this call only: remembering it would widen to the cwd.
          if (decision === "always" && !policy.protected) {
            const list = memory.get(req.conversationId) ?? [];
            // An entry already covering this call would make the new one redundant.
            if (!list.some((m) => remembered(m, req))) list.push(rememberFor(req));
            memory.set(req.conversationId, list);
          }
          if (store) persist("resolve", store.resolvePermissionRequest(requestId, decision, clock()));
          io.emit({
            type: "permission-resolved",
            conversationId: req.conversationId,
            turnId: req.turnId,
            requestId,
            decision,
          });
          notify(req.conversationId);
          done(
            decision === "deny"
              ? { decision: "deny", reason: reason ?? "denied by the user" }
              : allowed(req, "asked"),
          );
        },
      };
      byId.set(requestId, entry);
      io.signal.addEventListener("abort", onAbort, { once: true });
      if (store) {
        const { type: _type, ...rec } = event;
        persist("save", store.savePermissionRequest({ ...rec, createdAt: clock() }));
      }
      io.emit(event);
      notify(req.conversationId);
    });
  }

  /** An allow verdict carrying the per-entry path rules a search still applies. */
  function allowed(req: PermissionCheckRequest, answered: "no" | "asked"): PermissionVerdict {
    const always = rememberedAnywhere(memory.get(req.conversationId) ?? [], req);
    const access = searchAccess(config, req, always ? "anywhere" : answered);
    return access ? { decision: "allow", searchAccess: access } : { decision: "allow" };
  }

  return {
    async check(req, io) {
      const policy = decide(config, req);
      if (policy.action === "allow") {
        logDecision(req, "allow", "policy");
        return allowed(req, "no");
      }
      if (policy.action === "deny") {
        logDecision(req, "deny", "policy");
        return { decision: "deny", reason: `denied: ${policy.why}` };
      }
      // Protected paths ask every time: an earlier "always" on the tool does not cover them.
      if (!policy.protected && memory.get(req.conversationId)?.some((m) => remembered(m, req))) {
        logDecision(req, "allow", "remembered");
        return allowed(req, "asked");
      }
      // The turn's starter allowed it up front (--allow, --yes); never a policy "deny" above, never a
      // protected path (those always ask, naming the risk).
      if (!policy.protected && (req.grant?.all || req.grant?.tools?.includes(req.toolName))) {
        logDecision(req, "allow", "grant");
        return allowed(req, "asked");
      }
      return ask(req, io, policy);
    },

    resolve(conversationId, requestId, decision, reason): Result<void, PermissionError> {
      if (!DECISIONS.includes(decision)) {
        return {
          ok: false,
          error: {
            code: "PERMISSION_INVALID_DECISION",
            message: `decision must be allow, deny or always (got ${String(decision)})`,
          },
        };
      }
      const entry = pending.get(conversationId)?.get(requestId);
      if (!entry) {
        return {
          ok: false,
          error: {
            code: "PERMISSION_UNKNOWN_REQUEST",
            message: `no pending permission request "${requestId}" in conversation "${conversationId}" (already answered, timed out, or never asked)`,
          },
        };
      }
      entry.settle(decision, "user", reason?.trim() ? reason : "denied by the user");
      return { ok: true, value: undefined };
    },

    pending: (conversationId) => [...(pending.get(conversationId)?.values() ?? [])].map((p) => p.event),

    allPending: () => [...pending.values()].flatMap((conv) => [...conv.values()].map((p) => p.event)),

    onPendingChanged(listener): Disposer {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    denyAll(reason) {
      for (const conv of [...pending.values()])
        for (const p of [...conv.values()]) p.settle("deny", "shutdown", reason);
    },
  };
}
