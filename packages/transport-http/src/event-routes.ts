/**
 * Watching without WebSockets (PROTOCOL.md §8): `GET /events?channel=` streams chat.delta frames as
 * server-sent events (`id: <conversationId>:<turnId>:<n>`, resumable with `Last-Event-ID`; on a
 * wildcard channel followed by `@<clock>.<at>`, the event's place on the daemon's event clock, so a
 * reconnect is given what it missed of every conversation), and
 * `GET /conversations/:id/events?after=&waitMs=` long-polls. Both are a `channel.subscribe` decided
 * by the operations core for a stream caller (roles and channel patterns decided there, once), run
 * against a `Follower`; they honour the level asked for, the per-address stream limit and (SSE) the
 * per-stream buffer cap.
 */
import {
  type ClockPlace,
  deltaText,
  formatCursor,
  formatEventId,
  parseChannel,
  parseCursor,
  parseEventId,
  parseWaitMs,
  type SerializedEvent,
  SSE_HEADERS,
  sseComment,
  sseFrame,
  sseRetry,
} from "@dispatch/event-streams";
import { type Caller, type Command, decide, runEffects } from "@dispatch/operations";
import { eventVisibleAt, type ProtocolLevel } from "@dispatch/protocol";
import type { AgentEvent, LongPollResponse, ResumePoint } from "@dispatch/protocol/types";
import type { BunRequest, Server } from "bun";
import type { ApiDeps } from "./api-deps";
import { type FollowDeps, Follower } from "./follow";
import { httpCaller, httpOperationsView, outcomeOf, requestRole } from "./operations";
import { Failure, handle, json, need, param, type RouteTable, streamLevel } from "./request";
import { StreamSlots } from "./stream-limits";

/** What the event routes need. */
export type EventRouteDeps = Pick<ApiDeps, "streams" | "logger" | "shares"> & { follow: FollowDeps };

/**
 * A share viewer's stream registers with its share, so revocation and expiry end it at once (a
 * WebSocket gets 4403; a stream just ends, and its reconnect gets 401). Its count shows in the list.
 */
function attachViewer(deps: EventRouteDeps, req: Request, end: () => void): () => void {
  const role = requestRole(req);
  if (role.kind !== "viewer" || deps.shares === undefined) return () => {};
  return deps.shares.attach(role.shareId, { close: end });
}

const fail = (status: number, code: string, message: string) => new Failure({ status, code, message });

/** The caller an event stream is: the request's role and level, connected while it lasts. */
function streamCaller(req: Request, level: ProtocolLevel): Caller {
  return { ...httpCaller(req, level), connected: true, stream: true };
}

/** Decides `command` for a stream and runs it against `follower`; a refusal aborts with its status. */
function subscribe(req: Request, level: ProtocolLevel, command: Command, follower: Follower): void {
  const decision = decide(command, streamCaller(req, level), httpOperationsView);
  const refused = outcomeOf(decision.replies);
  if (!refused.ok) throw new Failure(refused.failure);
  const replies = [...decision.replies];
  void runEffects(decision.effects, { ...noServices, connection: follower.effects() }, (r) =>
    replies.push(r),
  );
  const outcome = outcomeOf(replies);
  if (!outcome.ok) throw new Failure(outcome.failure);
}

/**
 * A stream's command (`channel.subscribe`) only watches: its effects are connection effects, never a
 * service call, so the interpreter gets no services (a core bug would throw, answered as a 500).
 */
const noServices = { orchestrator: {} as never, gate: undefined };

function slot(slots: StreamSlots, req: Request, server: Server<undefined>, max: number): () => void {
  const address = server.requestIP(req)?.address ?? "unknown";
  const release = slots.acquire(address);
  if (release === undefined)
    throw fail(429, "STREAM_TOO_MANY", `too many open event streams from ${address} (at most ${max})`);
  return release;
}

function acceptsEventStream(req: Request): boolean {
  const accept = req.headers.get("accept");
  return accept === null || /text\/event-stream|\*\/\*/i.test(accept);
}

export function eventRoutes(deps: EventRouteDeps): RouteTable {
  // Built on first use: building the table touches no dependency.
  let slots: StreamSlots | undefined;
  const open = (req: Request, server: Server<undefined>) => {
    slots ??= new StreamSlots(deps.streams.maxPerAddress);
    return slot(slots, req, server, deps.streams.maxPerAddress);
  };
  return {
    "/events": {
      GET: handle((req, server) => {
        if (!acceptsEventStream(req))
          throw fail(406, "STREAM_NOT_ACCEPTABLE", "GET /events answers text/event-stream only");
        const level = streamLevel(req);
        const q = new URL(req.url).searchParams;
        const raw = q.get("channel");
        // The pattern itself is the core's to judge (CHANNEL_* codes), as over the WebSocket.
        if (raw === null)
          throw fail(
            400,
            "STREAM_MISSING_CHANNEL",
            "GET /events needs ?channel= (conversation:<id>, conversation:*, workspace:<id>:*)",
          );
        const last = req.headers.get("last-event-id");
        const resume: Record<string, ResumePoint> = {};
        let since: ClockPlace | undefined;
        if (last !== null && last !== "") {
          const at = need(parseEventId(last));
          resume[at.conversationId] = at.resume;
          since = at.place;
        }
        const release = open(req, server);
        return sseResponse(deps, req, server, level, raw, { resume, since }, release);
      }),
    },
    "/conversations/:id/events": {
      GET: handle(async (req, server) => {
        const conversationId = param(req, "id");
        const level = streamLevel(req);
        const q = new URL(req.url).searchParams;
        const afterRaw = q.get("after");
        const after = afterRaw === null || afterRaw === "" ? undefined : need(parseCursor(afterRaw));
        const waitMs = need(parseWaitMs(q.get("waitMs")));
        const release = open(req, server);
        try {
          server.timeout(req, 0);
          return json(await longPoll(deps, req, level, conversationId, after, waitMs));
        } finally {
          release();
        }
      }),
    },
  };
}

/**
 * The SSE text of one event (undefined when its level may not see it). On a wildcard channel its id
 * carries the event's place on the clock, so a reconnect resumes every conversation, not one.
 */
function sseEvent(
  conversationId: string,
  s: SerializedEvent,
  event: AgentEvent,
  level: ProtocolLevel,
  place: ClockPlace | undefined,
) {
  if (!eventVisibleAt(level, event.type)) return undefined;
  const id =
    s.n === undefined || event.type === "status"
      ? undefined
      : formatEventId(conversationId, event.turnId, s.n, place);
  return sseFrame(deltaText(s), id);
}

/** Pure: whether a channel names many conversations (`conversation:*`, `workspace:<id>:*`). */
function isWildcard(channel: string): boolean {
  const parsed = parseChannel(channel);
  return parsed.ok && parsed.channel.kind !== "conversation";
}

function sseResponse(
  deps: EventRouteDeps,
  req: BunRequest,
  server: Server<undefined>,
  level: ProtocolLevel,
  channel: string,
  from: { resume: Record<string, ResumePoint>; since: ClockPlace | undefined },
  release: () => void,
): Response {
  const { resume } = from;
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let done = false;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const clock = isWildcard(channel) ? deps.follow.orchestrator.eventClock : undefined;
  const follower = new Follower(
    deps.follow,
    (cid, s, event, at) =>
      write(
        sseEvent(cid, s, event, level, clock === undefined || at === undefined ? undefined : { clock, at }),
      ),
    from.since && clock !== undefined ? { since: from.since } : {},
  );
  let detach = () => {};
  const end = () => {
    if (done) return;
    done = true;
    detach();
    follower.close();
    if (keepAlive !== undefined) clearInterval(keepAlive);
    release();
  };
  function write(text: string | undefined): void {
    if (done || text === undefined) return;
    controller.enqueue(encoder.encode(text));
    if ((controller.desiredSize ?? 0) < -deps.streams.maxBufferedBytes) {
      deps.logger.warn("SSE client fell behind; stream cut (it may reconnect with Last-Event-ID)", {
        channel,
      });
      controller.error(new Error("slow consumer"));
      end();
    }
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel: end,
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
  try {
    write(sseRetry(1000));
    const command: Command =
      Object.keys(resume).length === 0
        ? { type: "channel.subscribe", channel }
        : { type: "channel.subscribe", channel, resume };
    subscribe(req, level, command, follower);
  } catch (e) {
    end();
    throw e;
  }
  detach = attachViewer(deps, req, () => {
    if (done) return;
    end();
    controller.close();
  });
  // The stream may stay quiet for long: Bun's idle timeout must not cut it; comments keep proxies open.
  server.timeout(req, 0);
  keepAlive = setInterval(() => write(sseComment("keep-alive")), deps.streams.keepAliveSec * 1000);
  req.signal.addEventListener("abort", end, { once: true });
  return new Response(stream, { headers: SSE_HEADERS });
}

/**
 * One long-poll: what is newer than `after` at once, else the first events that arrive (with those
 * of the same tick), else nothing after `waitMs`. Only numbered turn events count (they have a place
 * in the cursor); the level filters them.
 */
function longPoll(
  deps: EventRouteDeps,
  req: BunRequest,
  level: ProtocolLevel,
  conversationId: string,
  after: ResumePoint | undefined,
  waitMs: number,
): Promise<LongPollResponse> {
  const events: { event: AgentEvent; n: number }[] = [];
  let cursor: ResumePoint | undefined = after;
  let wake: (() => void) | undefined;
  const follower = new Follower(deps.follow, (_cid, s, event) => {
    if (s.n === undefined || event.type === "status") return;
    cursor = { turnId: event.turnId, n: s.n };
    if (!eventVisibleAt(level, event.type)) return;
    events.push({ event, n: s.n });
    if (wake !== undefined) {
      const w = wake;
      wake = undefined;
      queueMicrotask(w);
    }
  });
  const answer = (): LongPollResponse => ({
    events,
    cursor: cursor === undefined ? null : formatCursor(cursor),
  });
  const command: Command = {
    type: "channel.subscribe",
    channel: `conversation:${conversationId}`,
    ...(after === undefined ? {} : { resume: { [conversationId]: after } }),
  };
  try {
    subscribe(req, level, command, follower);
  } catch (e) {
    follower.close();
    return Promise.reject(e);
  }
  if (events.length > 0 || waitMs === 0) {
    follower.close();
    return Promise.resolve(answer());
  }
  return new Promise((resolve) => {
    let detach = () => {};
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      detach();
      follower.close();
      resolve(answer());
    };
    const timer = setTimeout(finish, waitMs);
    wake = finish;
    req.signal.addEventListener("abort", finish, { once: true });
    detach = attachViewer(deps, req, finish);
  });
}
