/**
 * One inbound frame, end to end — the WebSocket shell's only path into the operations core: charge
 * the rate limit, parse, let the core decide, run its effects, write the replies. Nothing here decides
 * what an operation means (that is `decide`, tested without a socket).
 *
 * Guarantees: an exception never escapes into Bun; it is logged with WS_INTERNAL_ERROR and answered
 * with a generic error in the frame's family, echoing its `id`.
 */
import type { Logger } from "@dispatch/kernel";
import {
  type Caller,
  type ConnectionEffects,
  decide,
  type EffectHandles,
  type OperationsView,
  runEffects,
} from "@dispatch/operations";
import { parseClientMessage } from "@dispatch/protocol";
import type { ParseClientMessageResult, ServerMessage } from "@dispatch/protocol/types";
import type { WsConfig } from "./config";
import { RATE_LIMIT_CLOSE_REASON } from "./connection-metrics";
import { CloseCodes } from "./contract";
import { type ConnData, errorText, type Fanout, type Socket } from "./fanout";
import { chargeFrame } from "./rate-limit";
import { parseFailureFrame, repliesFrames, replyFrames } from "./render";
import { glanceAtFrame, internalErrorFrame, rateLimitedReplies } from "./replies";

/** What handling a frame needs; `view` may change (catalog pushes), so it is read per frame. */
export interface FrameContext {
  config: Pick<WsConfig, "rateLimit">;
  logger: Logger;
  fanout: Fanout;
  services: Omit<EffectHandles, "connection">;
  view(): OperationsView;
  now(): number;
  /** The connection's level changed (metrics). */
  releveled(data: ConnData): void;
}

/** The caller a connection is: its state, and what it watches from the one watcher registry. */
export function callerOf(fanout: Fanout, ws: Socket): Caller {
  const d = ws.data;
  return {
    role: d.role,
    level: d.level,
    authenticated: d.authenticated,
    connected: d.connected,
    greeted: d.greeted,
    spoken: d.spoken,
    surfaces: d.surfaces,
    conversations: fanout.conversationsOf(ws),
    channels: d.channels,
  };
}

/** The connection side of the effects for one socket, over the fan-out's registry. */
export function connectionEffects(ctx: FrameContext, ws: Socket): ConnectionEffects {
  const { fanout } = ctx;
  return {
    setLevel(level, batchMs) {
      ws.data.greeted = true;
      fanout.setLevel(ws, level, batchMs);
      ctx.releveled(ws.data);
    },
    addSurface: (target) => fanout.addSurface(ws, target),
    removeSurface: (key) => fanout.removeSurface(ws, key),
    subscriberSpec: (target) => fanout.subscriberSpec(target),
    watch: (cid, resume) => fanout.watch(ws, cid, resume),
    unwatch: (cid) => fanout.unwatch(ws, cid),
    watchChannel: (key, channel, resume) => fanout.watchChannel(ws, key, channel, resume),
    unwatchChannel: (key) => fanout.unwatchChannel(ws, key),
  };
}

/** Logs an unexpected failure and answers the generic error. */
export function internalError(
  ctx: FrameContext,
  ws: Socket,
  err: unknown,
  isChat: boolean,
  replyTo: string | undefined,
): void {
  ctx.logger.error("ws handler failed", {
    code: "WS_INTERNAL_ERROR",
    conn: ws.data.id,
    error: errorText(err),
  });
  ctx.fanout.sendFrames(ws, [internalErrorFrame(isChat, replyTo)]);
}

/** Handles one inbound frame (Bun's `message` handler). */
export function handleFrame(ctx: FrameContext, ws: Socket, raw: string | Buffer<ArrayBuffer>): void {
  let parsed: ParseClientMessageResult | undefined;
  const send = (frames: readonly ServerMessage[]) => ctx.fanout.sendFrames(ws, frames);
  try {
    // Charged before anything is parsed: a dropped frame costs no JSON.parse (its length is the
    // string's, in UTF-16 units, which is cheap and close enough for a budget).
    const size = typeof raw === "string" ? raw.length : raw.byteLength;
    const charged = chargeFrame(ctx.config.rateLimit, ws.data.rate, ctx.now(), size);
    ws.data.rate = charged.state;
    if (charged.verdict === "close") {
      ctx.logger.warn("closing connection over the rate limit", { conn: ws.data.id });
      ws.close(CloseCodes.policyViolation, RATE_LIMIT_CLOSE_REASON);
      return;
    }
    const frame = typeof raw === "string" ? raw : new Uint8Array(raw);
    if (charged.verdict !== "allow") {
      send(rateLimitedReplies(charged.verdict, glanceAtFrame(frame), ctx.config.rateLimit.perSecond));
      return;
    }
    parsed = parseClientMessage(frame);
    if (!parsed.ok) {
      send([parseFailureFrame(parsed)]);
      return;
    }
    const command = parsed.message;
    const decision = decide(command, callerOf(ctx.fanout, ws), ctx.view());
    if (command.type !== "hello") ws.data.spoken = true;
    const handles: EffectHandles = { ...ctx.services, connection: connectionEffects(ctx, ws) };
    const isChat = command.type.startsWith("chat.");
    // Effects first (a watch replays before its ack), then the decision's own replies.
    runEffects(decision.effects, handles, (r) => send(replyFrames(r))).catch((err: unknown) =>
      internalError(ctx, ws, err, isChat, command.id),
    );
    send(repliesFrames(decision.replies));
  } catch (err) {
    const isChat = parsed?.ok === true ? parsed.message.type.startsWith("chat.") : false;
    internalError(ctx, ws, err, isChat, parsed?.ok === true ? parsed.message.id : undefined);
  }
}
