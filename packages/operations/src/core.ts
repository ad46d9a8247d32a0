/**
 * The operations core — pure: one command from one caller, against a read-only view, in; replies and
 * effects out. No I/O, no Bun, no node:. Every transport (WebSocket, HTTP, the next ones) decides what
 * a client operation means here, once; the shells parse, hand over, run effects (run-effects.ts) and
 * write.
 *
 * Guarantees:
 * - Every command type has a case; the `never` check makes the compiler reject a new type until it is
 *   decided. The core never throws and never answers undefined.
 * - Rights are checked here, first: the caller's role against the command's declared requirement
 *   (roles.ts: a share viewer only greets, pings and watches its conversation, FORBIDDEN otherwise,
 *   whether another conversation exists or not), then a `grant` needs a token holder.
 * - Follow-ups are effects: the sender watches a conversation after its turn started (not before, not
 *   on failure), a surface subscription is rolled back when its spec fails.
 * - Subscribe/unsubscribe are idempotent, per (surfaceId, conversationId) and per conversation. A
 *   global surface ignores `conversationId`. A caller without a connection (HTTP) never watches.
 */
import { type Channel, channelKey, isWildcard, parseChannel } from "@dispatch/event-streams";
import { asProtocolLevel, LEVEL2_FEATURES, PROTOCOL_LEVELS } from "@dispatch/protocol/levels";
import type { ResumePoint, SurfaceScope } from "@dispatch/protocol/types";
import {
  type Caller,
  type Command,
  type Decision,
  type Effect,
  GRANT_NEEDS_TOKEN,
  type OperationsErrorCode,
  type OperationsView,
  type Reply,
  type ReplyFamily,
  type SurfaceTarget,
  type TurnRequest,
} from "./contract";
import { authorizeCommand } from "./roles";

/** Pure: the identity of a surface subscription. Unambiguous for any ids. */
export function surfaceKey(surfaceId: string, conversationId: string | undefined): string {
  return JSON.stringify([surfaceId, conversationId ?? null]);
}

/** Pure: a global surface drops `conversationId`; a conversation-scoped one keeps it. */
export function surfaceTarget(
  surfaceId: string,
  scope: SurfaceScope,
  conversationId?: string,
): SurfaceTarget {
  const conv = scope === "global" ? undefined : conversationId;
  const target: SurfaceTarget = { surfaceId, scope, key: surfaceKey(surfaceId, conv) };
  if (conv !== undefined) target.conversationId = conv;
  return target;
}

/** Adds `replyTo` when the command carried an `id` (absent fields stay absent). */
function withReply<T extends object>(value: T, id: string | undefined): T & { replyTo?: string } {
  return id === undefined ? value : { ...value, replyTo: id };
}

const say = (...replies: Reply[]): Decision => ({ replies, effects: [] });
const run = (...effects: Effect[]): Decision => ({ replies: [], effects });
const done = (op: Command["type"], id: string | undefined): Reply => withReply({ kind: "done", op }, id);

/** Pure: a coded refusal in `family`, echoing `id`. */
export function refusal(
  family: ReplyFamily,
  code: string,
  message: string,
  id: string | undefined,
  about: { conversationId?: string; surfaceId?: string } = {},
): Reply {
  return withReply({ kind: "failed", family, error: { code, message }, ...about }, id);
}

function unknownSurface(surfaceId: string, id: string | undefined, op: string): Decision {
  const code: OperationsErrorCode = "WS_UNKNOWN_SURFACE";
  return say(refusal("surface", code, `${op}: unknown surface "${surfaceId}"`, id, { surfaceId }));
}

/** Pure: decides one command. */
export function decide(command: Command, caller: Caller, view: OperationsView): Decision {
  const denied = authorizeCommand(command, caller.role);
  if (denied !== undefined) return forbidden(command, denied);
  const msg = command;
  switch (msg.type) {
    case "ping":
      return say({ kind: "pong" }, ...(msg.id === undefined ? [] : [done("ping", msg.id)]));

    case "hello":
      return decideHello(view, caller, msg.protocol, msg.id, msg.batchMs);

    case "channel.subscribe":
      return decideChannelSubscribe(caller, msg.channel, msg.resume, msg.id);

    case "channel.unsubscribe":
      return decideChannelUnsubscribe(caller, msg.channel, msg.id);

    case "subscribe": {
      const scope = view.surfaceScope(msg.surfaceId);
      if (scope === undefined) return unknownSurface(msg.surfaceId, msg.id, "subscribe");
      const target = surfaceTarget(msg.surfaceId, scope, msg.conversationId);
      const added = !caller.surfaces.has(target.key);
      const spec = withReply(
        { kind: "surface.spec" as const, target, otherwise: added ? [surfaceRemove(target)] : [] },
        msg.id,
      );
      return added ? run({ kind: "surface.add", target }, spec) : run(spec);
    }

    case "unsubscribe": {
      // A surface that has since disappeared can still be unsubscribed (cleanup); its scope is then
      // inferred from what this caller holds.
      const known = view.surfaceScope(msg.surfaceId);
      const candidates = known
        ? [surfaceTarget(msg.surfaceId, known, msg.conversationId)]
        : [
            surfaceTarget(msg.surfaceId, "conversation", msg.conversationId),
            surfaceTarget(msg.surfaceId, "global"),
          ];
      const target = candidates.find((t) => caller.surfaces.has(t.key));
      const ack = done("unsubscribe", msg.id);
      return target === undefined ? say(ack) : { replies: [ack], effects: [surfaceRemove(target)] };
    }

    case "invoke": {
      if (view.surfaceScope(msg.surfaceId) === undefined)
        return unknownSurface(msg.surfaceId, msg.id, "invoke");
      const op = {
        kind: "surface.invoke" as const,
        surfaceId: msg.surfaceId,
        actionId: msg.actionId,
        payload: msg.payload,
      };
      return run(
        withReply(
          msg.conversationId === undefined ? op : { ...op, conversationId: msg.conversationId },
          msg.id,
        ),
      );
    }

    case "chat.send": {
      const turn: TurnRequest = {
        conversationId: msg.conversationId ?? view.newConversationId(),
        message: msg.message,
      };
      if (msg.model !== undefined) turn.model = msg.model;
      if (msg.cwd !== undefined) turn.cwd = msg.cwd;
      if (msg.reasoningEffort !== undefined) turn.reasoningEffort = msg.reasoningEffort;
      if (msg.workspaceId !== undefined) turn.workspaceId = msg.workspaceId;
      if (msg.images !== undefined) turn.images = msg.images;
      if (msg.grant !== undefined) turn.grant = msg.grant;
      const cid = turn.conversationId;
      if (turn.grant !== undefined && !caller.authenticated)
        return say(
          refusal("chat", GRANT_NEEDS_TOKEN.code, GRANT_NEEDS_TOKEN.message, msg.id, { conversationId: cid }),
        );
      // Watching after the start replays the new turn from its first event (same tick: nothing missed).
      return run(
        withReply({ kind: "turn.start" as const, turn, onTurnStarted: watchFollowUp(caller, cid) }, msg.id),
      );
    }

    case "chat.subscribe":
      return decideWatch(caller, "chat.subscribe", msg.conversationId, msg.resume, msg.id);

    case "chat.unsubscribe":
      return decideUnwatch(caller, "chat.unsubscribe", msg.conversationId, msg.id);

    case "chat.queue": {
      const op = {
        kind: "queue.add" as const,
        conversationId: msg.conversationId,
        text: msg.text,
        onTurnStarted: watchFollowUp(caller, msg.conversationId),
      };
      return run(
        withReply(msg.workspaceId === undefined ? op : { ...op, workspaceId: msg.workspaceId }, msg.id),
      );
    }

    case "chat.queue.cancel":
      return run(
        withReply(
          { kind: "queue.cancel", conversationId: msg.conversationId, messageId: msg.messageId },
          msg.id,
        ),
      );

    case "chat.stop":
      return run(withReply({ kind: "turn.stop", conversationId: msg.conversationId }, msg.id));

    case "chat.permission": {
      const op = {
        kind: "permission.answer" as const,
        conversationId: msg.conversationId,
        requestId: msg.requestId,
        decision: msg.decision,
      };
      return run(withReply(msg.reason === undefined ? op : { ...op, reason: msg.reason }, msg.id));
    }

    case "conversation.open":
      return run(withReply({ kind: "conversation.open", conversationId: msg.conversationId }, msg.id));

    case "conversation.close":
      return run(withReply({ kind: "conversation.close", conversationId: msg.conversationId }, msg.id));

    case "conversation.compact": {
      const op = { kind: "conversation.compact" as const, conversationId: msg.conversationId };
      return run(withReply(msg.keepLastN === undefined ? op : { ...op, keepLastN: msg.keepLastN }, msg.id));
    }

    case "share.create": {
      const op: Effect = { kind: "share.create", conversationId: msg.conversationId };
      if (msg.expiresInSec !== undefined) op.expiresInSec = msg.expiresInSec;
      if (msg.label !== undefined) op.label = msg.label;
      return run(withReply(op, msg.id));
    }

    case "share.list":
      return run(withReply({ kind: "share.list", conversationId: msg.conversationId }, msg.id));

    case "share.revoke":
      return run(withReply({ kind: "share.revoke", shareId: msg.shareId }, msg.id));

    case "read":
      return run(withReply({ kind: "read", read: msg.read }, msg.id));

    default:
      return undecidable(msg);
  }
}

/** Pure: the refusal of a command the caller's role may not send, in its family. */
function forbidden(command: Command, error: { code: string; message: string }): Decision {
  const family: ReplyFamily =
    command.type.startsWith("chat.") || command.type === "read" ? "chat" : "surface";
  const cid = (command as { conversationId?: unknown }).conversationId;
  const about = typeof cid === "string" ? { conversationId: cid } : {};
  return say(refusal(family, error.code, error.message, command.id, about));
}

/** Pure: watch one conversation (chat.subscribe, channel `conversation:<id>`); idempotent. */
function decideWatch(
  caller: Caller,
  op: "chat.subscribe" | "channel.subscribe",
  conversationId: string,
  resume: ResumePoint | undefined,
  id: string | undefined,
): Decision {
  const ack = done(op, id);
  if (!caller.connected || caller.conversations.has(conversationId)) return say(ack);
  const watch: Effect =
    resume === undefined
      ? { kind: "conversation.watch", conversationId }
      : { kind: "conversation.watch", conversationId, resume };
  return { replies: [ack], effects: [watch] };
}

function decideUnwatch(
  caller: Caller,
  op: "chat.unsubscribe" | "channel.unsubscribe",
  conversationId: string,
  id: string | undefined,
): Decision {
  const ack = done(op, id);
  if (!caller.conversations.has(conversationId)) return say(ack);
  return { replies: [ack], effects: [{ kind: "conversation.unwatch", conversationId }] };
}

/** Pure: channels are level 2; a bad pattern is refused with its code (see @dispatch/event-streams). */
function channelOf(
  caller: Caller,
  op: "channel.subscribe" | "channel.unsubscribe",
  raw: string,
  id: string | undefined,
): { channel: Channel } | { refused: Decision } {
  if (caller.level < 2 && caller.stream !== true) {
    const code: OperationsErrorCode = "LEVEL2_REQUIRED";
    const message = `${op} needs protocol 2: send hello {protocol: 2} as the first message`;
    return { refused: say(refusal("surface", code, message, id)) };
  }
  const parsed = parseChannel(raw);
  if (!parsed.ok)
    return { refused: say(refusal("surface", parsed.error.code, `${op}: ${parsed.error.message}`, id)) };
  return { channel: parsed.channel };
}

function decideChannelSubscribe(
  caller: Caller,
  raw: string,
  resume: Readonly<Record<string, ResumePoint>> | undefined,
  id: string | undefined,
): Decision {
  const parsed = channelOf(caller, "channel.subscribe", raw, id);
  if ("refused" in parsed) return parsed.refused;
  const channel = parsed.channel;
  if (!isWildcard(channel)) {
    const at = resume === undefined ? undefined : resume[channel.conversationId];
    return decideWatch(caller, "channel.subscribe", channel.conversationId, at, id);
  }
  const ack = done("channel.subscribe", id);
  const key = channelKey(channel);
  if (!caller.connected || caller.channels.has(key)) return say(ack);
  const watch: Effect =
    resume === undefined
      ? { kind: "channel.watch", channel, key }
      : { kind: "channel.watch", channel, key, resume };
  return { replies: [ack], effects: [watch] };
}

function decideChannelUnsubscribe(caller: Caller, raw: string, id: string | undefined): Decision {
  const parsed = channelOf(caller, "channel.unsubscribe", raw, id);
  if ("refused" in parsed) return parsed.refused;
  const channel = parsed.channel;
  if (!isWildcard(channel)) return decideUnwatch(caller, "channel.unsubscribe", channel.conversationId, id);
  const ack = done("channel.unsubscribe", id);
  const key = channelKey(channel);
  if (!caller.channels.has(key)) return say(ack);
  return { replies: [ack], effects: [{ kind: "channel.unwatch", key }] };
}

function surfaceRemove(target: SurfaceTarget): Effect {
  return { kind: "surface.remove", key: target.key };
}

/** Pure: the follow-up of a started turn — the sender watches it, unless it already does or cannot. */
function watchFollowUp(caller: Caller, conversationId: string): Effect[] {
  if (!caller.connected || caller.conversations.has(conversationId)) return [];
  return [{ kind: "conversation.watch", conversationId }];
}

function helloRefused(code: OperationsErrorCode, message: string, id: string | undefined): Decision {
  return say(refusal("surface", code, message, id));
}

/** Pure: `hello` is accepted once, as the first command, for a level this server speaks. */
function decideHello(
  view: OperationsView,
  caller: Caller,
  protocol: number,
  id: string | undefined,
  batchMs?: number,
): Decision {
  if (caller.greeted) {
    return helloRefused(
      "WS_HELLO_REPEATED",
      `hello: already received on this connection (it speaks protocol ${caller.level}); send hello once`,
      id,
    );
  }
  if (caller.spoken) {
    return helloRefused(
      "WS_HELLO_LATE",
      "hello: must be the first message of a connection (this one stays at protocol 1); reconnect and send hello first",
      id,
    );
  }
  const level = asProtocolLevel(protocol);
  if (level === undefined) {
    return helloRefused(
      "WS_UNSUPPORTED_PROTOCOL",
      `hello: protocol ${protocol} is not supported; this server speaks ${PROTOCOL_LEVELS.join(" and ")}`,
      id,
    );
  }
  if (batchMs !== undefined && level < 2)
    return helloRefused("LEVEL2_REQUIRED", "hello: batchMs needs protocol 2", id);
  const features = level >= 2 ? [...LEVEL2_FEATURES] : [];
  const hello: Reply = { kind: "hello", level, server: { ...view.server }, features };
  if (caller.role.kind === "viewer")
    hello.share = { shareId: caller.role.shareId, conversationId: caller.role.conversationId };
  const replies: Reply[] = [hello];
  if (id !== undefined) replies.push(done("hello", id));
  const effect: Effect =
    batchMs === undefined || batchMs === 0
      ? { kind: "connection.level", level }
      : { kind: "connection.level", level, batchMs };
  return { replies, effects: [effect] };
}

/**
 * Reached only by a command the parser let through but this switch does not know: the compiler flags
 * it (`never`), and at runtime it is a coded refusal, never a throw.
 */
function undecidable(msg: never): Decision {
  const type = String((msg as { type?: unknown }).type);
  const id = (msg as { id?: unknown }).id;
  const replyTo = typeof id === "string" ? id : undefined;
  const family: ReplyFamily = type.startsWith("chat.") ? "chat" : "surface";
  return say(refusal(family, "PROTOCOL_UNKNOWN_TYPE", `Unknown message type: ${type}`, replyTo));
}
