/**
 * The event routes' roles: a share viewer (its role set on the request as admission does) may watch
 * its own conversation over SSE and long-poll, and gets FORBIDDEN for any other one and for every
 * wildcard — decided by the operations core before anything is subscribed.
 */
import { describe, expect, test } from "bun:test";
import type { Role } from "@dispatch/operations";
import type { BunRequest, Server } from "bun";
import { eventRoutes } from "./event-routes";
import { setRequestRole } from "./operations";
import type { RouteHandler } from "./request";

const viewer: Role = { kind: "viewer", conversationId: "shared", shareId: "s-1" };
let subscriptions = 0;
const routes = eventRoutes({
  streams: { maxPerAddress: 8, maxBufferedBytes: 1 << 20, keepAliveSec: 60 },
  logger: { debug() {}, info() {}, warn() {}, error() {}, child: () => undefined as never },
  follow: {
    orchestrator: {
      subscribe: () => {
        subscriptions++;
        return () => {
          subscriptions--;
        };
      },
      replay: () => [],
      runningConversations: () => ["shared", "other"],
      runningTurn: () => undefined,
      eventClock: "stub",
      eventsSince: () => undefined,
    },
    turns: { onStarted: () => () => {}, onSettled: () => () => {} },
    workspaceOf: () => "default",
  },
});
const server = { requestIP: () => ({ address: "127.0.0.1" }), timeout() {} } as unknown as Server<undefined>;

function call(route: string, url: string, params: Record<string, string> = {}) {
  const ac = new AbortController();
  const req = Object.assign(new Request(`http://127.0.0.1${url}`, { signal: ac.signal }), { params });
  setRequestRole(req, viewer);
  const handler = routes[route]?.GET as RouteHandler;
  return { res: handler(req as unknown as BunRequest, server), abort: () => ac.abort() };
}

describe("a share viewer over SSE and long-poll", () => {
  test("other conversations and wildcards: 403 FORBIDDEN, nothing subscribed", async () => {
    for (const channel of ["conversation:other", "conversation:*", "workspace:default:*"]) {
      const { res } = call("/events", `/events?channel=${encodeURIComponent(channel)}`);
      const r = await res;
      expect({ channel, status: r.status, code: ((await r.json()) as { code: string }).code }).toEqual({
        channel,
        status: 403,
        code: "FORBIDDEN",
      });
    }
    const poll = await call("/conversations/:id/events", "/conversations/other/events?waitMs=0", {
      id: "other",
    }).res;
    expect(poll.status).toBe(403);
    expect(subscriptions).toBe(0);
  });

  test("its own conversation: the stream opens (and lets go when cut); the poll answers", async () => {
    const sse = call("/events", "/events?channel=conversation:shared");
    const r = await sse.res;
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    expect(subscriptions).toBe(1);
    sse.abort();
    expect(subscriptions).toBe(0);
    const poll = await call("/conversations/:id/events", "/conversations/shared/events?waitMs=0", {
      id: "shared",
    }).res;
    expect(poll.status).toBe(200);
    expect(await poll.json()).toEqual({ events: [], cursor: null });
  });
});
