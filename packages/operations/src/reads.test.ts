import { describe, expect, test } from "bun:test";
import type { ConversationSettings } from "@dispatch/session-orchestrator";
import { type Caller, OWNER } from "./contract";
import { decide } from "./core";
import { type Read, readOutcome, readReply, settingView } from "./reads";

const caller: Caller = {
  role: OWNER,
  level: 1,
  authenticated: false,
  connected: false,
  greeted: false,
  spoken: false,
  surfaces: new Set(),
  conversations: new Set(),
  channels: new Set(),
};
const view = {
  surfaceScope: () => undefined,
  newConversationId: () => "new",
  server: { name: "d", version: "0" },
};
const settings: ConversationSettings = {
  conversationId: "c1",
  title: "T",
  workspaceId: "w",
  model: "m",
  effectiveCwd: "/x",
};

describe("reads through the core", () => {
  test("a read command becomes one read effect echoing its id, and no reply yet", () => {
    const read: Read = { read: "conversation.status", conversationId: "c1" };
    expect(decide({ type: "read", read, id: "r1" }, caller, view)).toEqual({
      replies: [],
      effects: [{ kind: "read", read, replyTo: "r1" }],
    });
  });

  test("status and the existence check of an unknown conversation are HTTP_UNKNOWN_CONVERSATION", () => {
    for (const name of ["conversation.status", "conversation.exists"] as const) {
      const r = readOutcome({ read: name, conversationId: "c9" }, { read: name, status: undefined });
      expect(r).toEqual({
        ok: false,
        error: { code: "HTTP_UNKNOWN_CONVERSATION", message: 'unknown conversation "c9"' },
      });
    }
  });

  test("a setting view shows its one field; an unset optional field is absent, title always present", () => {
    expect(settingView("model", settings)).toEqual({ conversationId: "c1", model: "m" });
    expect(settingView("cwd", settings)).toEqual({ conversationId: "c1" });
    expect(settingView("title", settings)).toEqual({ conversationId: "c1", title: "T" });
    expect(settingView("reasoningEffort", { ...settings, reasoningEffort: "high" })).toEqual({
      conversationId: "c1",
      reasoningEffort: "high",
    });
  });

  test("a settings update passes the service's refusal through and shows the updated field", () => {
    const read: Read = {
      read: "conversation.setting.update",
      conversationId: "c1",
      setting: "model",
      patch: {},
    };
    const error = { code: "ORCH_UNKNOWN_MODEL", message: "no" };
    expect(readOutcome(read, { read: read.read, updated: { ok: false, error } })).toEqual({
      ok: false,
      error,
    });
    expect(readOutcome(read, { read: read.read, updated: { ok: true, value: settings } })).toEqual({
      ok: true,
      value: { conversationId: "c1", model: "m" },
    });
  });

  test("a window of an id with no chunks is empty at sinceSeq; other refusals pass through", () => {
    const read: Read = { read: "conversation.window", conversationId: "c1", query: { sinceSeq: 7 } };
    const unknown = { code: "STORE_UNKNOWN_CONVERSATION", message: "x" };
    expect(readOutcome(read, { read: read.read, window: { ok: false, error: unknown } })).toEqual({
      ok: true,
      value: { chunks: [], latestSeq: 7 },
    });
    const bad = { code: "STORE_INVALID_QUERY", message: "y" };
    expect(readOutcome(read, { read: read.read, window: { ok: false, error: bad } })).toEqual({
      ok: false,
      error: bad,
    });
  });

  test("models: modelInfo only when there are models, defaultModel only when set", () => {
    const read: Read = { read: "models.list" };
    expect(readOutcome(read, { read: "models.list", models: [], defaultModel: undefined })).toEqual({
      ok: true,
      value: { models: [] },
    });
    const info = { provider: "p" } as never;
    expect(
      readOutcome(read, { read: "models.list", models: [{ name: "a", info }], defaultModel: "a" }),
    ).toEqual({ ok: true, value: { models: ["a"], modelInfo: { a: info }, defaultModel: "a" } });
  });

  test("a list drops an absent cursor; the reply echoes replyTo", () => {
    const read: Read = { read: "conversation.list", query: {} };
    const page = { ok: true as const, value: { conversations: [] } };
    expect(readReply(read, { read: read.read, page }, "q")).toEqual({
      kind: "done",
      op: "read",
      value: { conversations: [] },
      replyTo: "q",
    });
  });
});
