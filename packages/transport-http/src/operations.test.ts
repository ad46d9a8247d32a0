import { describe, expect, test } from "bun:test";
import { decide } from "@dispatch/operations";
import { httpCaller, httpOperationsView, outcomeOf } from "./operations";

const chat = (grant?: { all: true }) => ({
  type: "chat.send" as const,
  conversationId: "c1",
  message: "hi",
  ...(grant === undefined ? {} : { grant }),
});

describe("HTTP through the operations core", () => {
  test("a grant without the token is FORBIDDEN → 403, decided by the core, with no effect run", () => {
    const req = new Request("http://127.0.0.1/chat", { method: "POST" });
    const caller = httpCaller(req);
    expect(caller).toMatchObject({ authenticated: false, connected: false, level: 1 });
    const d = decide(chat({ all: true }), caller, httpOperationsView);
    expect(d.effects).toEqual([]);
    expect(outcomeOf(d.replies)).toEqual({
      ok: false,
      failure: { status: 403, code: "FORBIDDEN", message: expect.stringContaining("token") },
    });
  });

  test("an HTTP caller never watches: the turn starts with no follow-up", () => {
    const d = decide(chat(), httpCaller(new Request("http://127.0.0.1/chat")), httpOperationsView);
    expect(d.effects).toEqual([
      { kind: "turn.start", turn: { conversationId: "c1", message: "hi" }, onTurnStarted: [] },
    ]);
  });

  test("outcomeOf: the service's value, or the failure with its code's status", () => {
    expect(outcomeOf([{ kind: "done", op: "chat.stop", value: { abortedTurn: null } }])).toEqual({
      ok: true,
      value: { abortedTurn: null },
    });
    const failed = outcomeOf([
      {
        kind: "failed",
        family: "chat",
        error: { code: "ORCH_UNKNOWN_CONVERSATION", message: "no" },
        conversationId: "x",
      },
    ]);
    expect(failed).toEqual({
      ok: false,
      failure: { status: 404, code: "ORCH_UNKNOWN_CONVERSATION", message: "no" },
    });
  });
});
