/**
 * Protocol levels (PROTOCOL.md, top): the one place that decides what a connection of each level
 * receives. Pure; no I/O. Transports ask `visibleAt` / `eventVisibleAt` for every frame they push and
 * never test levels themselves.
 *
 * Level 1 is the original protocol: the existing frontend breaks on any message or event type it does
 * not know, so it receives only the original sets below (extra optional fields are fine). Level 2
 * receives everything. A WebSocket connection is level 1 until its first message is `hello` with
 * `protocol: 2`; an HTTP stream is level 1 unless asked with `Dispatch-Protocol: 2` or `?protocol=2`.
 *
 * Replies a client asked for are not pushed frames: `ack` answers a message that carried an `id`,
 * `pong` a `ping`, `hello` a `hello` — all ext requests that a level-1 client (the original frontend)
 * never sends, so it never sees them. A client that sends them is answered at any level.
 */
import type { AgentEvent, AgentEventType, ServerMessage, ServerMessageType } from "./types";

export type ProtocolLevel = 1 | 2;

/** The level of a connection that never asked. */
export const DEFAULT_PROTOCOL_LEVEL: ProtocolLevel = 1;
/** Every level this server speaks, lowest first. */
export const PROTOCOL_LEVELS: readonly ProtocolLevel[] = [1, 2];
/** The header an HTTP stream asks with (`Dispatch-Protocol: 2`); the query parameter is `protocol`. */
export const PROTOCOL_LEVEL_HEADER = "Dispatch-Protocol";
export const PROTOCOL_LEVEL_QUERY = "protocol";

/** (compat) The server message types of the original protocol. */
export const LEVEL1_SERVER_MESSAGE_TYPES: ReadonlySet<ServerMessageType> = new Set<ServerMessageType>([
  "catalog",
  "surface",
  "update",
  "error",
  "chat.delta",
  "chat.error",
  "conversation.open",
  "conversation.statusChanged",
  "conversation.compacted",
]);

/** (compat) The 11 AgentEvent types of the original protocol. */
export const LEVEL1_EVENT_TYPES: ReadonlySet<AgentEventType> = new Set<AgentEventType>([
  "status",
  "turn-start",
  "text-delta",
  "reasoning-delta",
  "tool-call",
  "tool-result",
  "tool-output",
  "usage",
  "error",
  "done",
  "turn-sealed",
]);

/** What a level-2 `hello` reply advertises (informational; clients must not depend on the list). */
export const LEVEL2_FEATURES: readonly string[] = [
  "ack",
  "resume",
  "chat.stop",
  "chat.permission",
  "ping",
  "presence",
  "extended-events",
];

/** Pure: true when a connection of `level` receives an AgentEvent of `type`. */
export function eventVisibleAt(level: ProtocolLevel, type: AgentEventType): boolean {
  return level >= 2 || LEVEL1_EVENT_TYPES.has(type);
}

/** Pure: true when a connection of `level` receives the pushed frame `frame`. */
export function visibleAt(level: ProtocolLevel, frame: ServerMessage): boolean {
  if (level >= 2) return true;
  if (!LEVEL1_SERVER_MESSAGE_TYPES.has(frame.type)) return false;
  return frame.type !== "chat.delta" || eventVisibleAt(level, (frame.event as AgentEvent).type);
}

/** Pure: `n` as a protocol level this server speaks, else undefined. */
export function asProtocolLevel(n: unknown): ProtocolLevel | undefined {
  return PROTOCOL_LEVELS.find((l) => l === n);
}

export type LevelRequest = { ok: true; level: ProtocolLevel } | { ok: false; message: string };

/**
 * Pure: the level an HTTP stream asks for, from the header and the query parameter (either may be
 * absent; both present must agree). Absent → level 1. Anything but a supported level is an error.
 */
export function requestedHttpLevel(
  header: string | null | undefined,
  query: string | null | undefined,
): LevelRequest {
  const asked = [header, query].filter((v): v is string => v !== null && v !== undefined);
  if (asked.length === 0) return { ok: true, level: DEFAULT_PROTOCOL_LEVEL };
  const levels = asked.map((v) =>
    /^\d{1,3}$/.test(v.trim()) ? asProtocolLevel(Number(v.trim())) : undefined,
  );
  const bad = asked.find((_, i) => levels[i] === undefined);
  if (bad !== undefined) {
    const shown = bad.length > 20 ? `${bad.slice(0, 20)}…` : bad;
    return {
      ok: false,
      message: `unsupported protocol level ${JSON.stringify(shown)} (${PROTOCOL_LEVEL_HEADER} header or ?${PROTOCOL_LEVEL_QUERY}=): this server speaks ${PROTOCOL_LEVELS.join(" and ")}`,
    };
  }
  if (levels.length === 2 && levels[0] !== levels[1]) {
    return {
      ok: false,
      message: `the ${PROTOCOL_LEVEL_HEADER} header (${header}) and ?${PROTOCOL_LEVEL_QUERY}= (${query}) ask for different levels`,
    };
  }
  return { ok: true, level: levels[0] as ProtocolLevel };
}
