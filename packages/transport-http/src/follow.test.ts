/**
 * The HTTP streams' follower over a stand-in hub source: one serialization per event whatever the
 * number of streams; a wildcard taps running turns and each new turn from its first event, and lets go
 * when the turn is settled (unless a next one already runs).
 */
import { expect, test } from "bun:test";
import type { AgentEvent, ResumePoint } from "@dispatch/protocol/types";
import type { ConversationListener } from "@dispatch/session-orchestrator/contract";
import { type FollowDeps, Follower } from "./follow";

function source() {
  const listeners = new Map<string, Set<ConversationListener>>();
  const started = new Set<(cid: string, turnId: string) => void>();
  const settled = new Set<(cid: string) => void>();
  const buffered = new Map<string, { event: AgentEvent; n: number }[]>();
  let running: string[] = [];
  const deps: FollowDeps = {
    orchestrator: {
      subscribe(cid, l, resume?: ResumePoint) {
        for (const e of buffered.get(cid) ?? []) if (e.n > (resume?.n ?? 0)) l(e.event, e.n);
        const set = listeners.get(cid) ?? new Set();
        listeners.set(cid, set);
        set.add(l);
        return () => {
          set.delete(l);
        };
      },
      replay: (cid, resume?: ResumePoint) => (buffered.get(cid) ?? []).filter((e) => e.n > (resume?.n ?? 0)),
      runningConversations: () => running,
      runningTurn: (cid) => (running.includes(cid) ? "t" : undefined),
      eventClock: "stub",
      eventsSince: () => undefined,
    },
    turns: {
      onStarted: (l) => {
        started.add(l);
        return () => started.delete(l);
      },
      onSettled: (l) => {
        settled.add(l);
        return () => settled.delete(l);
      },
    },
    workspaceOf: (cid) => (cid.startsWith("w1-") ? "w1" : "w2"),
  };
  return {
    deps,
    emit(cid: string, event: AgentEvent, n: number) {
      buffered.set(cid, [...(buffered.get(cid) ?? []), { event, n }]);
      for (const l of [...(listeners.get(cid) ?? [])]) l(event, n);
    },
    start(cid: string) {
      running = [...running, cid];
      for (const l of [...started]) l(cid, "t");
    },
    settle(cid: string) {
      running = running.filter((c) => c !== cid);
      for (const l of [...settled]) l(cid);
    },
    subscribers: (cid: string) => listeners.get(cid)?.size ?? 0,
  };
}

const delta = (cid: string, text: string): AgentEvent => ({
  type: "text-delta",
  conversationId: cid,
  turnId: "t",
  delta: text,
});

test("one serialization per event whatever the number of streams", () => {
  const s = source();
  const got: string[] = [];
  const followers = Array.from({ length: 10 }, () => new Follower(s.deps, (_c, e) => got.push(e.json)));
  for (const f of followers) f.effects().watch("c", undefined);
  let serialized = 0;
  const fields = delta("c", "x");
  const toJSON = () => {
    serialized++;
    return fields;
  };
  s.emit("c", { ...fields, toJSON } as unknown as AgentEvent, 1);
  expect(got.length).toBe(10);
  expect(serialized).toBe(1);
  for (const f of followers) f.close();
  expect(s.subscribers("c")).toBe(0);
});

test("a workspace channel: running turns, new turns from their first event, let go when settled", () => {
  const s = source();
  s.start("w1-a");
  s.emit("w1-a", delta("w1-a", "a1"), 1);
  const got: string[] = [];
  const f = new Follower(s.deps, (cid, e) => got.push(`${cid}:${e.n}`));
  f.effects().watchChannel("workspace:w1:*", { kind: "workspace", workspaceId: "w1" });
  expect(got).toEqual(["w1-a:1"]);
  s.emit("w1-b", delta("w1-b", "first"), 1); // before its TurnStarted: replayed when tapped
  s.start("w1-b");
  s.start("w2-c");
  s.emit("w2-c", delta("w2-c", "no"), 1);
  s.emit("w1-b", delta("w1-b", "second"), 2);
  expect(got).toEqual(["w1-a:1", "w1-b:1", "w1-b:2"]);
  expect(s.subscribers("w2-c")).toBe(0);
  s.settle("w1-a");
  expect(s.subscribers("w1-a")).toBe(0);
  f.close();
  expect(s.subscribers("w1-b")).toBe(0);
});
