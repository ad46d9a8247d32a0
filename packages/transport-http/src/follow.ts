/**
 * What an HTTP event stream (SSE, long-poll) watches, as the operations core's connection effects:
 * `watch` follows one conversation through its hub (replay then live, atomically), `watchChannel`
 * follows every running turn of a wildcard channel and taps each new one from its first event
 * (TurnStarted), letting go when it is settled. The one event source is the hub; every event is
 * serialized once for all streams (`eventJson`).
 */
import { type Channel, type ClockPlace, channelMatches, type SerializedEvent } from "@dispatch/event-streams";
import type { Disposer } from "@dispatch/kernel";
import type { ConnectionEffects, WildcardChannel } from "@dispatch/operations";
import type { AgentEvent, ResumePoint } from "@dispatch/protocol/types";
import type { ClockedEvent, Orchestrator } from "@dispatch/session-orchestrator/contract";

const texts = new WeakMap<AgentEvent, string>();

/** The event's JSON, computed once whatever the number of streams that send it. */
export function eventJson(event: AgentEvent): string {
  let t = texts.get(event);
  if (t === undefined) {
    t = JSON.stringify(event);
    texts.set(event, t);
  }
  return t;
}

/** Turn starts and settlements, from the orchestrator's kernel events. */
export interface TurnNotices {
  onStarted(listener: (conversationId: string, turnId: string) => void): () => void;
  onSettled(listener: (conversationId: string) => void): () => void;
}

export interface FollowDeps {
  orchestrator: Pick<
    Orchestrator,
    "subscribe" | "replay" | "runningConversations" | "runningTurn" | "eventsSince" | "eventClock"
  >;
  turns: TurnNotices;
  workspaceOf(conversationId: string): string | undefined;
}

/** Receives each event of what a stream follows, with its conversation and its place on the clock. */
export type FollowSink = (
  conversationId: string,
  e: SerializedEvent,
  event: AgentEvent,
  at: number | undefined,
) => void;

export interface FollowOptions {
  /**
   * Where on the event clock a reconnecting stream stood (its Last-Event-ID): a wildcard channel is
   * then given every matching event after it, of every conversation, and continues live — instead of
   * the running turns from their start. Ignored when the orchestrator no longer knows that place.
   */
  since?: ClockPlace;
}

export class Follower {
  private readonly direct = new Map<string, Disposer>();
  /** Conversations followed for the channels, and their hub subscriptions. */
  private readonly tapped = new Map<string, Disposer>();
  private readonly channels = new Map<string, WildcardChannel>();
  private stopNotices: (() => void)[] = [];
  private closed = false;

  private since: ClockPlace | undefined;

  constructor(
    private readonly deps: FollowDeps,
    private readonly sink: FollowSink,
    opts: FollowOptions = {},
  ) {
    this.since = opts.since;
  }

  /** `sent`: permission requests this stream was just given; the hub's unnumbered re-send is dropped. */
  private listener(conversationId: string, sent?: ReadonlySet<string>) {
    return (event: AgentEvent, n: number | undefined, at?: number) => {
      if (this.closed) return;
      if (
        sent !== undefined &&
        n === undefined &&
        event.type === "permission-request" &&
        sent.has(event.requestId)
      )
        return;
      this.sink(conversationId, { json: eventJson(event), n }, event, at);
    };
  }

  private matches(conversationId: string): boolean {
    let workspace: string | undefined;
    for (const channel of this.channels.values()) {
      if (channel.kind === "workspace") workspace ??= this.deps.workspaceOf(conversationId);
      if (channelMatches(channel as Channel, conversationId, workspace)) return true;
    }
    return false;
  }

  private tap(conversationId: string, resume: ResumePoint | undefined, sent?: ReadonlySet<string>): void {
    if (this.direct.has(conversationId) || this.tapped.has(conversationId)) return;
    this.tapped.set(
      conversationId,
      this.deps.orchestrator.subscribe(conversationId, this.listener(conversationId, sent), resume),
    );
  }

  /** The connection effects the core's decision runs against. */
  effects(): ConnectionEffects {
    const unsupported = () => {
      throw new Error("an HTTP event stream holds no surfaces and has no level to change");
    };
    return {
      setLevel: unsupported,
      addSurface: unsupported,
      removeSurface: unsupported,
      subscriberSpec: unsupported,
      watch: (cid, resume) => {
        if (this.direct.has(cid)) return;
        this.tapped.get(cid)?.();
        this.tapped.delete(cid);
        this.direct.set(cid, this.deps.orchestrator.subscribe(cid, this.listener(cid), resume));
      },
      unwatch: (cid) => {
        this.direct.get(cid)?.();
        this.direct.delete(cid);
      },
      watchChannel: (key, channel, resume) => this.watchChannel(key, channel, resume),
      unwatchChannel: (key) => {
        this.channels.delete(key);
      },
    };
  }

  private watchChannel(
    key: string,
    channel: WildcardChannel,
    resume: Readonly<Record<string, ResumePoint>> | undefined,
  ): void {
    this.channels.set(key, channel);
    if (this.stopNotices.length === 0) {
      this.stopNotices = [
        this.deps.turns.onStarted((cid, turnId) => {
          if (!this.closed && this.matches(cid)) this.tap(cid, { turnId, n: 0 });
        }),
        this.deps.turns.onSettled((cid) => {
          const d = this.tapped.get(cid);
          if (d === undefined || this.deps.orchestrator.runningTurn(cid) !== undefined) return;
          d();
          this.tapped.delete(cid);
        }),
      ];
    }
    const running = new Set(this.deps.orchestrator.runningConversations());
    const since = this.since;
    this.since = undefined;
    const missed = since && this.deps.orchestrator.eventsSince(since.clock, since.at);
    // What this stream is given first. `at` is the event's place on the clock, given (in its SSE id)
    // only when everything before it on the clock that the stream should have is known to be given:
    // true of a reconnect's `missed`, not of a first replay, which holds the running turns only — a
    // stream cut inside that replay resumes as before (the named conversation exactly).
    const first: { conversationId: string; event: AgentEvent; n: number; at: number | undefined }[] = [];
    if (missed) {
      // A reconnect whose place the orchestrator still knows: everything after it, of every matching
      // conversation (turns sealed meanwhile included), in the order it was delivered.
      for (const e of missed)
        if (!this.direct.has(e.conversationId) && this.matches(e.conversationId)) first.push(e);
    } else {
      // The running turns (after `resume` where it names them), and the tail of a turn named in
      // `resume` that was just sealed, in clock order.
      const named = Object.entries(resume ?? {}).filter(([cid]) => !running.has(cid));
      const replays: [string, ResumePoint | undefined][] = [
        ...[...running].map((c) => [c, resume?.[c]] as [string, ResumePoint | undefined]),
        ...named,
      ];
      const merged: ClockedEvent[] = [];
      for (const [cid, at] of replays) {
        if (this.direct.has(cid) || !this.matches(cid)) continue;
        for (const e of this.deps.orchestrator.replay(cid, at))
          if (e.n !== undefined) merged.push({ conversationId: cid, event: e.event, n: e.n, at: e.at ?? 0 });
      }
      merged.sort((a, b) => a.at - b.at);
      for (const e of merged) first.push({ ...e, at: undefined });
    }
    const sent = new Map<string, Set<string>>();
    for (const e of first) {
      this.sink(e.conversationId, { json: eventJson(e.event), n: e.n }, e.event, e.at);
      if (e.event.type === "permission-request") {
        const ids = sent.get(e.conversationId) ?? new Set<string>();
        ids.add(e.event.requestId);
        sent.set(e.conversationId, ids);
      }
    }
    // Then the running turns live only: their earlier events were just given (or seen before). The
    // hub re-sends the pending permission requests unnumbered, as to every subscription; those just
    // given are dropped, those seen before the place come again (as after any resume).
    for (const cid of running) {
      const turnId = this.deps.orchestrator.runningTurn(cid);
      if (turnId !== undefined && this.matches(cid))
        this.tap(cid, { turnId, n: Number.MAX_SAFE_INTEGER }, sent.get(cid));
    }
  }

  /** Ends every subscription. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of [...this.direct.values(), ...this.tapped.values()]) d();
    this.direct.clear();
    this.tapped.clear();
    for (const stop of this.stopNotices) stop();
    this.stopNotices = [];
  }
}
