/**
 * The effect interpreter shared by every transport: runs what the core decided against the service
 * handles (orchestrator, surface registry) and, for a connected caller, its connection's registry
 * entries. It decides nothing: every follow-up it runs was named by the core (`onTurnStarted`, `otherwise`).
 *
 * Guarantees:
 * - Effects run in order; synchronous ones complete before `runEffects` returns, so a transport that
 *   sends the decision's replies right after keeps the order "watch (replay) → ack".
 * - A service answer becomes exactly one reply (`done` with its value, or `failed`), after the
 *   effect's follow-ups ran.
 * - Asynchronous effects (surface specs, invokes) are collected into the returned promise; an
 *   unexpected rejection rejects it (the transport logs it and answers a generic error).
 */
import type { ProtocolLevel } from "@dispatch/protocol/levels";
import type { PermissionDecision, ResumePoint, ShareSummary, SurfaceSpec } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator";
import type { SurfaceRegistry } from "@dispatch/surface-registry";
import type { CommandType, Effect, OpResult, Reply, SurfaceTarget, WildcardChannel } from "./contract";
import { fetchRead, type ReadHandles, readReply } from "./reads";

/** A connected caller's side of the effects: its level, subscriptions and watches. */
export interface ConnectionEffects {
  /** `batchMs` (level 2 only): batch its turn events within that window. */
  setLevel(level: ProtocolLevel, batchMs?: number): void;
  addSurface(target: SurfaceTarget): void;
  removeSurface(key: string): void;
  /** The current spec for a subscriber of `target` (coalesced with concurrent refreshes). */
  subscriberSpec(target: SurfaceTarget): Promise<OpResult<SurfaceSpec>>;
  watch(conversationId: string, resume?: ResumePoint): void;
  unwatch(conversationId: string): void;
  /** Replays the running turns of `channel`'s conversations, then follows them (and new ones) live. */
  watchChannel(key: string, channel: WildcardChannel, resume?: Readonly<Record<string, ResumePoint>>): void;
  unwatchChannel(key: string): void;
}

/** The permission gate, as far as answering goes (structurally the tools' `PermissionGate.resolve`). */
export interface PermissionAnswers {
  resolve(
    conversationId: string,
    requestId: string,
    decision: PermissionDecision,
    reason?: string,
  ): OpResult<void>;
}

export interface EffectHandles {
  orchestrator: Pick<
    Orchestrator,
    | "startTurn"
    | "enqueue"
    | "cancelQueued"
    | "stopTurn"
    | "openConversation"
    | "closeConversation"
    | "compact"
  >;
  /** Where permission answers go (the tools' gate); undefined when none is installed. */
  gate: PermissionAnswers | undefined;
  /** Absent where a transport offers no surfaces (its view knows none, so no invoke reaches here). */
  registry?: Pick<SurfaceRegistry, "invoke">;
  /** Share links; absent where a transport offers none (every share command is then refused). */
  shares?: ShareHandles;
  /** The read services; absent where a transport offers no reads (its commands never ask one). */
  reads?: ReadHandles;
  /** Absent for a request/response caller: the core never sends it connection effects. */
  connection?: ConnectionEffects;
}

/** The share service's side of the effects (`@dispatch/shares`' `Shares`, by shape). */
export interface ShareHandles {
  create(
    conversationId: string,
    opts: { expiresInSec?: number; label?: string },
  ): OpResult<{ shareId: string; secret: string; expiresAt: number }>;
  list(conversationId: string): ShareSummary[];
  revoke(shareId: string): OpResult<{ shareId: string; revoked: true }>;
}

const NO_SHARES: OpResult<never> = {
  ok: false,
  error: { code: "SHARES_UNAVAILABLE", message: "share links are not enabled on this daemon" },
};

/**
 * Raised when the core sent a connection or surface effect to a caller whose transport has none (a
 * core bug, never input: the transport answers it as an internal error).
 */
export class NoConnectionError extends Error {
  override readonly name = "NoConnectionError";
}

/** Runs `effects` in order; replies go to `reply`. Resolves when the asynchronous ones are done. */
export function runEffects(
  effects: readonly Effect[],
  handles: EffectHandles,
  reply: (r: Reply) => void,
): Promise<void> {
  const pending: Promise<void>[] = [];
  runAll(effects, handles, reply, pending);
  return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
}

function runAll(
  effects: readonly Effect[],
  h: EffectHandles,
  reply: (r: Reply) => void,
  pending: Promise<void>[],
): void {
  for (const e of effects) runOne(e, h, reply, pending);
}

function conn(h: EffectHandles): ConnectionEffects {
  if (h.connection === undefined) throw new NoConnectionError("connection effect without a connection");
  return h.connection;
}

const at = <T extends object>(r: T, replyTo: string | undefined): T & { replyTo?: string } =>
  replyTo === undefined ? r : { ...r, replyTo };

function runOne(e: Effect, h: EffectHandles, reply: (r: Reply) => void, pending: Promise<void>[]): void {
  const again = (next: readonly Effect[]) => runAll(next, h, reply, pending);
  switch (e.kind) {
    case "connection.level":
      conn(h).setLevel(e.level, e.batchMs);
      return;
    case "surface.add":
      conn(h).addSurface(e.target);
      return;
    case "surface.remove":
      conn(h).removeSurface(e.key);
      return;
    case "conversation.watch":
      conn(h).watch(e.conversationId, e.resume);
      return;
    case "conversation.unwatch":
      conn(h).unwatch(e.conversationId);
      return;
    case "channel.watch":
      conn(h).watchChannel(e.key, e.channel, e.resume);
      return;
    case "channel.unwatch":
      conn(h).unwatchChannel(e.key);
      return;
    case "surface.spec": {
      const c = conn(h);
      pending.push(
        c.subscriberSpec(e.target).then((r) => {
          if (!r.ok) {
            again(e.otherwise);
            reply(
              at(
                { kind: "failed", family: "surface", error: r.error, surfaceId: e.target.surfaceId },
                e.replyTo,
              ),
            );
            return;
          }
          reply({ kind: "surface", target: e.target, spec: r.value });
          reply(at({ kind: "done", op: "subscribe" }, e.replyTo));
        }),
      );
      return;
    }
    case "surface.invoke": {
      const ctx = e.conversationId === undefined ? undefined : { conversationId: e.conversationId };
      if (h.registry === undefined) throw new NoConnectionError("surface effect without a surface registry");
      pending.push(
        h.registry.invoke(e.surfaceId, e.actionId, e.payload, ctx).then((r) => {
          if (r.ok) reply(at({ kind: "done", op: "invoke", value: r.value }, e.replyTo));
          else
            reply(
              at({ kind: "failed", family: "surface", error: r.error, surfaceId: e.surfaceId }, e.replyTo),
            );
        }),
      );
      return;
    }
    case "turn.start": {
      const cid = e.turn.conversationId;
      const r = h.orchestrator.startTurn(e.turn);
      if (r.ok) again(e.onTurnStarted);
      reply(chatResult("chat.send", cid, r, e.replyTo));
      return;
    }
    case "queue.add": {
      const opts = e.workspaceId === undefined ? {} : { workspaceId: e.workspaceId };
      const r = h.orchestrator.enqueue(e.conversationId, e.text, opts);
      if (r.ok && r.value.startedTurn) again(e.onTurnStarted);
      reply(chatResult("chat.queue", e.conversationId, r, e.replyTo));
      return;
    }
    case "queue.cancel": {
      // Idempotent: a message that is no longer queued is simply not there.
      const value = h.orchestrator.cancelQueued(e.conversationId, e.messageId);
      reply(at({ kind: "done", op: "chat.queue.cancel", value }, e.replyTo));
      return;
    }
    case "turn.stop": {
      const value = h.orchestrator.stopTurn(e.conversationId);
      reply(at({ kind: "done", op: "chat.stop", value }, e.replyTo));
      return;
    }
    case "permission.answer": {
      const { conversationId: cid, requestId, decision, reason } = e;
      reply(
        chatResult(
          "chat.permission",
          cid,
          answerPermission(h.gate, cid, requestId, decision, reason),
          e.replyTo,
        ),
      );
      return;
    }
    case "conversation.open": {
      const r = h.orchestrator.openConversation(e.conversationId);
      reply(chatResult("conversation.open", e.conversationId, r, e.replyTo));
      return;
    }
    case "conversation.close": {
      const cid = e.conversationId;
      pending.push(
        h.orchestrator
          .closeConversation(cid)
          .then((r) => reply(chatResult("conversation.close", cid, r, e.replyTo))),
      );
      return;
    }
    case "conversation.compact": {
      const cid = e.conversationId;
      const opts = e.keepLastN === undefined ? {} : { keepLastN: e.keepLastN };
      pending.push(
        h.orchestrator
          .compact(cid, opts)
          .then((r) => reply(chatResult("conversation.compact", cid, r, e.replyTo))),
      );
      return;
    }
    case "share.create": {
      const opts: { expiresInSec?: number; label?: string } = {};
      if (e.expiresInSec !== undefined) opts.expiresInSec = e.expiresInSec;
      if (e.label !== undefined) opts.label = e.label;
      const r = h.shares === undefined ? NO_SHARES : h.shares.create(e.conversationId, opts);
      reply(chatResult("share.create", e.conversationId, r, e.replyTo));
      return;
    }
    case "share.list": {
      const r: OpResult =
        h.shares === undefined ? NO_SHARES : { ok: true, value: h.shares.list(e.conversationId) };
      reply(chatResult("share.list", e.conversationId, r, e.replyTo));
      return;
    }
    case "share.revoke": {
      const r = h.shares === undefined ? NO_SHARES : h.shares.revoke(e.shareId);
      if (r.ok) reply(at({ kind: "done", op: "share.revoke", value: r.value }, e.replyTo));
      else reply(at({ kind: "failed", family: "chat", error: r.error }, e.replyTo));
      return;
    }
    case "read": {
      if (h.reads === undefined) throw new NoConnectionError("read effect without read handles");
      reply(readReply(e.read, fetchRead(e.read, h.reads), e.replyTo));
      return;
    }
    default:
      unknownEffect(e);
  }
}

/**
 * A client's answer to a permission request, given to the gate directly (nothing else holds state about
 * it). Every refusal — no gate installed, a request the gate does not know or no longer has pending, an
 * invalid decision — is ORCH_UNKNOWN_PERMISSION_REQUEST, the code clients know. `reason` (a deny's, as
 * the tool result shows it) defaults to "denied by the user".
 */
export function answerPermission(
  gate: PermissionAnswers | undefined,
  conversationId: string,
  requestId: string,
  decision: PermissionDecision,
  reason?: string,
): OpResult<void> {
  const code = "ORCH_UNKNOWN_PERMISSION_REQUEST";
  if (!gate) return { ok: false, error: { code, message: "no permission gate is installed" } };
  const r = gate.resolve(conversationId, requestId, decision, reason);
  return r.ok ? { ok: true, value: undefined } : { ok: false, error: { code, message: r.error.message } };
}

function chatResult(
  op: CommandType,
  conversationId: string,
  r: OpResult,
  replyTo: string | undefined,
): Reply {
  if (r.ok) return at({ kind: "done", op, value: r.value }, replyTo);
  return at({ kind: "failed", family: "chat", error: r.error, conversationId }, replyTo);
}

function unknownEffect(e: never): never {
  throw new Error(`unknown effect ${String((e as { kind?: unknown }).kind)}`);
}
