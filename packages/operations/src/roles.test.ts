import { describe, expect, test } from "bun:test";
import { exampleClientMessages } from "@dispatch/protocol/examples";
import {
  type Caller,
  type Command,
  type CommandType,
  type OperationsView,
  OWNER,
  type Reply,
  type Role,
} from "./contract";
import { decide } from "./core";
import type { Read, ReadName } from "./read-contract";
import { COMMAND_REQUIREMENTS, READ_REQUIREMENTS } from "./roles";

const SHARED = "c-1";
const OTHER = "c-other";
const viewer: Role = { kind: "viewer", conversationId: SHARED, shareId: "s-1" };
const view: OperationsView = {
  surfaceScope: (id) => (id === "loaded-extensions" ? "global" : "conversation"),
  newConversationId: () => "minted",
  server: { name: "dispatch", version: "0" },
};
const caller = (role: Role, connected = true): Caller => ({
  role,
  level: 2,
  authenticated: false,
  connected,
  greeted: false,
  spoken: false,
  surfaces: new Set(),
  conversations: new Set(),
  channels: new Set(),
});

/** A wildcard channel (`conversation:*`, `workspace:<id>:*`) is about no one conversation. */
const wildcard = (command: Command) =>
  (command.type === "channel.subscribe" || command.type === "channel.unsubscribe") &&
  command.channel.endsWith("*");

/** One read of every kind, about `cid` when it is about a conversation. */
const reads = (cid: string): Record<ReadName, Read> => ({
  "conversation.exists": { read: "conversation.exists", conversationId: cid },
  "conversation.status": { read: "conversation.status", conversationId: cid },
  "conversation.window": { read: "conversation.window", conversationId: cid, query: {} },
  "conversation.setting": { read: "conversation.setting", conversationId: cid, setting: "model" },
  "conversation.setting.update": {
    read: "conversation.setting.update",
    conversationId: cid,
    setting: "title",
    patch: { title: "x" },
  },
  "conversation.list": { read: "conversation.list", query: {} },
  "models.list": { read: "models.list" },
  "mcp.servers": { read: "mcp.servers" },
  health: { read: "health" },
});

/** Every command the core decides: the protocol's examples, the HTTP-only ones and every read. */
function everyCommand(cid: string): Command[] {
  const messages = exampleClientMessages.map(
    (m) =>
      ({
        ...m,
        ...("conversationId" in m ? { conversationId: cid } : {}),
        ...("channel" in m && !m.channel.endsWith("*") ? { channel: `conversation:${cid}` } : {}),
      }) as Command,
  );
  const lifecycle: Command[] = [
    { type: "conversation.open", conversationId: cid },
    { type: "conversation.close", conversationId: cid },
    { type: "conversation.compact", conversationId: cid },
    { type: "share.create", conversationId: cid, expiresInSec: 60 },
    { type: "share.list", conversationId: cid },
    { type: "share.revoke", shareId: "s-1" },
  ];
  const allReads = Object.values(reads(cid)).map((read): Command => ({ type: "read", read, id: "q" }));
  return [...messages, ...lifecycle, ...allReads];
}

const forbidden = (replies: Reply[]) =>
  replies.some((r) => r.kind === "failed" && r.error.code === "FORBIDDEN");

describe("roles: the one table", () => {
  test("every command type and every read has a declared requirement", () => {
    const types = new Set(everyCommand(SHARED).map((c) => c.type));
    for (const t of types)
      if (t !== "read") expect(COMMAND_REQUIREMENTS[t as Exclude<CommandType, "read">]).toBeDefined();
    expect(Object.keys(READ_REQUIREMENTS).sort()).toEqual(Object.keys(reads(SHARED)).sort());
  });

  test("a viewer: every owner operation is FORBIDDEN, its own conversation may be watched and read", () => {
    for (const command of everyCommand(SHARED)) {
      const d = decide(command, caller(viewer), view);
      const req =
        command.type === "read" ? READ_REQUIREMENTS[command.read.read] : COMMAND_REQUIREMENTS[command.type];
      const label = command.type === "read" ? `read ${command.read.read}` : command.type;
      expect({ label, forbidden: forbidden(d.replies) }).toEqual({
        label,
        forbidden: req === "owner" || wildcard(command),
      });
      if (req === "owner") expect(d.effects).toEqual([]);
    }
  });

  test("a viewer of one conversation gets the same FORBIDDEN for another, known or unknown", () => {
    for (const command of everyCommand(OTHER)) {
      const d = decide(command, caller(viewer), view);
      const req =
        command.type === "read" ? READ_REQUIREMENTS[command.read.read] : COMMAND_REQUIREMENTS[command.type];
      const label = command.type === "read" ? `read ${command.read.read}` : command.type;
      const aboutOne =
        "conversationId" in command ||
        "channel" in command ||
        (command.type === "read" && "conversationId" in command.read);
      expect({ label, forbidden: forbidden(d.replies) }).toEqual({
        label,
        forbidden: req === "owner" || (req === "conversation" && aboutOne),
      });
      // Decided without a service: nothing the shell runs could tell a known id from an unknown one.
      if (forbidden(d.replies)) expect(d.effects).toEqual([]);
    }
  });

  test("the refusal is coded, in the command's family, echoes its id and names no other conversation", () => {
    const send = decide(
      { type: "chat.send", id: "r", conversationId: SHARED, message: "hi" },
      caller(viewer),
      view,
    );
    expect(send.replies).toEqual([
      {
        kind: "failed",
        family: "chat",
        error: {
          code: "FORBIDDEN",
          message: expect.stringContaining("chat.send: forbidden for a share viewer"),
        },
        conversationId: SHARED,
        replyTo: "r",
      },
    ]);
    const invoke = decide({ type: "invoke", surfaceId: "s", actionId: "a" }, caller(viewer), view);
    expect(invoke.replies[0]).toMatchObject({
      kind: "failed",
      family: "surface",
      error: { code: "FORBIDDEN" },
    });
    const other = decide({ type: "chat.subscribe", conversationId: OTHER }, caller(viewer), view);
    expect(JSON.stringify(other.replies)).not.toContain("exist");
  });

  test("an owner is refused nothing by roles", () => {
    for (const command of everyCommand(SHARED)) {
      const d = decide(command, caller(OWNER), view);
      expect(forbidden(d.replies) && (command as { grant?: unknown }).grant === undefined).toBe(false);
    }
  });

  test("a viewer's watch of its conversation is the usual watch effect", () => {
    const d = decide({ type: "chat.subscribe", conversationId: SHARED }, caller(viewer), view);
    expect(d.effects).toEqual([{ kind: "conversation.watch", conversationId: SHARED }]);
  });
});
