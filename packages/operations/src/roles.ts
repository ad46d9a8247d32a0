/**
 * Roles (PROTOCOL.md §8), decided once for every transport — pure. Every command and every read has
 * a declared requirement in one table (the compiler asks for a new command's entry); `authorize`
 * turns a requirement, a caller's role and the conversation a command is about into a refusal or
 * nothing. `decide` asks it before anything else, so no transport can forget. HTTP routes declare
 * the same requirements in the protocol's route table (`HttpRoute.role`) and transport-http asks
 * `authorize` with the route's `:id` before a handler runs (documents and metrics are no commands).
 *
 * Guarantees:
 * - A viewer's answer about a conversation other than its own never depends on whether that
 *   conversation exists: it is the same FORBIDDEN, decided before any service is asked.
 * - An owner is never refused here (its rights are checked where they are finer: `grant`).
 */
import { clientMessageRequirements } from "@dispatch/protocol";
import type { Command, CommandType, OpError, Requirement, Role } from "./contract";
import type { ReadName } from "./read-contract";

/**
 * Every command type but `read`, whose requirement is per read (below): a client message's is
 * declared beside its schema in the protocol; the commands only HTTP routes make are listed here.
 */
export const COMMAND_REQUIREMENTS: Readonly<Record<Exclude<CommandType, "read">, Requirement>> = {
  ...clientMessageRequirements,
  "conversation.open": "owner",
  "conversation.close": "owner",
  "conversation.compact": "owner",
  "share.create": "owner",
  "share.list": "owner",
  "share.revoke": "owner",
};

/** Every read. A viewer reads its conversation's history and status, nothing else. */
export const READ_REQUIREMENTS: Readonly<Record<ReadName, Requirement>> = {
  "conversation.window": "conversation",
  "conversation.status": "conversation",
  "conversation.exists": "conversation",
  "conversation.setting": "owner",
  "conversation.setting.update": "owner",
  "conversation.list": "owner",
  "models.list": "owner",
  "mcp.servers": "owner",
  health: "anyone",
};

/** Pure: the requirement of one command. */
export function requirementOf(command: Command): Requirement {
  if (command.type === "read") return READ_REQUIREMENTS[command.read.read];
  return COMMAND_REQUIREMENTS[command.type];
}

/** Pure: the conversation a command is about, when it is about one. */
export function conversationOf(command: Command): string | undefined {
  if (command.type === "read") {
    const r = command.read as { conversationId?: unknown };
    return typeof r.conversationId === "string" ? r.conversationId : undefined;
  }
  const c = command as { conversationId?: unknown; channel?: unknown };
  if (typeof c.conversationId === "string") return c.conversationId;
  // A channel (`channel.subscribe`, §8) is about one conversation only as `conversation:<id>`; a
  // wildcard is about none, so a viewer is refused it.
  if (typeof c.channel === "string" && c.channel.startsWith("conversation:")) {
    const id = c.channel.slice("conversation:".length);
    return id === "" || id.includes("*") ? undefined : id;
  }
  return undefined;
}

/** The error a refused caller gets (WS `error`/`chat.error`, HTTP 403). */
export const FORBIDDEN_CODE = "FORBIDDEN";

/**
 * Pure: whether `role` may do something with requirement `req` about `conversationId`; a coded
 * refusal naming the operation otherwise. The message names only what the caller itself holds and
 * sent, so it says nothing about other conversations.
 */
export function authorize(
  req: Requirement,
  role: Role,
  operation: string,
  conversationId: string | undefined,
): OpError | undefined {
  if (role.kind === "owner" || req === "anyone") return undefined;
  if (req === "conversation" && conversationId === role.conversationId) return undefined;
  const message =
    req === "owner"
      ? `${operation}: forbidden for a share viewer (it may only watch conversation "${role.conversationId}" and read its history and status)`
      : `${operation}: forbidden for a share viewer: it may only watch conversation "${role.conversationId}"`;
  return { code: FORBIDDEN_CODE, message };
}

/** Pure: `authorize` for one command. */
export function authorizeCommand(command: Command, role: Role): OpError | undefined {
  const op = command.type === "read" ? `read ${command.read.read}` : command.type;
  return authorize(requirementOf(command), role, op, conversationOf(command));
}
