/**
 * Channel patterns (PROTOCOL.md §8) — pure. `conversation:<id>` (one conversation, the same as
 * `chat.subscribe`), `conversation:*` (every conversation) and `workspace:<workspaceId>:*` (every
 * conversation of a workspace). Every transport (WebSocket, SSE, long-poll, a relay) parses and
 * matches with these functions, so a pattern means the same everywhere.
 *
 * Guarantees: `parseChannel` never throws; a refusal has a stable code and a message that names the
 * problem; `channelKey` is canonical (two spellings of one channel have one key).
 */
import { MAX_ID_CHARS } from "@dispatch/protocol";

/** Longest channel string accepted: the longest id plus its prefix and suffix. */
export const MAX_CHANNEL_CHARS = MAX_ID_CHARS + "workspace::*".length;

export type Channel =
  | { kind: "conversation"; conversationId: string }
  | { kind: "all" }
  | { kind: "workspace"; workspaceId: string };

export const ChannelErrorCodes = [
  /** Empty id, a wildcard in the wrong place (`**`, `conversation:a*`), a missing `:*`. */
  "CHANNEL_INVALID",
  /** Longer than MAX_CHANNEL_CHARS. */
  "CHANNEL_TOO_LONG",
  /** Neither `conversation:` nor `workspace:`. */
  "CHANNEL_UNKNOWN_PREFIX",
] as const;
export type ChannelErrorCode = (typeof ChannelErrorCodes)[number];

export type ChannelParse =
  | { ok: true; channel: Channel }
  | { ok: false; error: { code: ChannelErrorCode; message: string } };

const EXPECTED = "expected conversation:<id>, conversation:* or workspace:<workspaceId>:*";

function shown(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

function refuse(code: ChannelErrorCode, raw: string, why: string): ChannelParse {
  return { ok: false, error: { code, message: `channel ${shown(raw)}: ${why}; ${EXPECTED}` } };
}

/** Pure: an id part of a channel: non-empty, bounded, no wildcard, no control characters. */
function badId(id: string): string | undefined {
  if (id === "") return "the id is empty";
  if (id.length > MAX_ID_CHARS) return `the id is longer than ${MAX_ID_CHARS} characters`;
  if (id.includes("*")) return "a wildcard may only stand alone after the last colon";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(id)) return "the id contains control characters";
  return undefined;
}

/** Pure: what `raw` names, or a coded refusal. */
export function parseChannel(raw: unknown): ChannelParse {
  if (typeof raw !== "string" || raw === "")
    return refuse("CHANNEL_INVALID", String(raw ?? ""), "a channel is a non-empty string");
  if (raw.length > MAX_CHANNEL_CHARS)
    return refuse("CHANNEL_TOO_LONG", raw, `longer than ${MAX_CHANNEL_CHARS} characters`);
  if (raw.startsWith("conversation:")) {
    const rest = raw.slice("conversation:".length);
    if (rest === "*") return { ok: true, channel: { kind: "all" } };
    const bad = badId(rest);
    return bad === undefined
      ? { ok: true, channel: { kind: "conversation", conversationId: rest } }
      : refuse("CHANNEL_INVALID", raw, bad);
  }
  if (raw.startsWith("workspace:")) {
    if (!raw.endsWith(":*") || raw.length <= "workspace::*".length - 1)
      return refuse("CHANNEL_INVALID", raw, "a workspace channel ends with :* (every conversation in it)");
    const id = raw.slice("workspace:".length, -":*".length);
    const bad = badId(id);
    return bad === undefined
      ? { ok: true, channel: { kind: "workspace", workspaceId: id } }
      : refuse("CHANNEL_INVALID", raw, bad);
  }
  return refuse("CHANNEL_UNKNOWN_PREFIX", raw, "unknown prefix");
}

/** Pure: the canonical string of a channel (also its identity in a subscriber's set). */
export function channelKey(channel: Channel): string {
  switch (channel.kind) {
    case "conversation":
      return `conversation:${channel.conversationId}`;
    case "all":
      return "conversation:*";
    case "workspace":
      return `workspace:${channel.workspaceId}:*`;
  }
}

/** Pure: true when an event of `conversationId` (in `workspaceId`, when known) belongs to `channel`. */
export function channelMatches(
  channel: Channel,
  conversationId: string,
  workspaceId: string | undefined,
): boolean {
  switch (channel.kind) {
    case "conversation":
      return channel.conversationId === conversationId;
    case "all":
      return true;
    case "workspace":
      return workspaceId !== undefined && channel.workspaceId === workspaceId;
  }
}

/** Pure: true for a pattern (many conversations), false for one conversation. */
export function isWildcard(channel: Channel): channel is Exclude<Channel, { kind: "conversation" }> {
  return channel.kind !== "conversation";
}
