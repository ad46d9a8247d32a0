/**
 * Event frames from ONE serialization — pure. The event is serialized once; its `chat.delta` frame,
 * its item in a `chat.batch` and its SSE event are built around that text by concatenation, so the
 * cost of an event stays one `JSON.stringify` whatever the number and kinds of its subscribers.
 * The texts equal `JSON.stringify` of the frame objects (same key order), which the tests check.
 */
import type { AgentEvent } from "@dispatch/protocol/types";

/** One serialized event and its position. */
export interface SerializedEvent {
  /** `JSON.stringify(event)`. */
  json: string;
  n: number | undefined;
}

/** Pure: serializes an event once. */
export function serializeEvent(event: AgentEvent, n: number | undefined): SerializedEvent {
  return { json: JSON.stringify(event), n };
}

/** Pure: the `chat.delta` frame text: `{"type":"chat.delta","event":…,"n":…}`. */
export function deltaText(e: SerializedEvent): string {
  return e.n === undefined
    ? `{"type":"chat.delta","event":${e.json}}`
    : `{"type":"chat.delta","event":${e.json},"n":${e.n}}`;
}

/**
 * Pure: the `chat.delta` frame text straight from the event, in one `JSON.stringify` (about half the
 * cost of `deltaText(serializeEvent(…))` per event); the same text. For a frame nothing else reuses.
 */
export function deltaFrame(event: AgentEvent, n: number | undefined): string {
  return JSON.stringify(n === undefined ? { type: "chat.delta", event } : { type: "chat.delta", event, n });
}

/** Pure: the `chat.batch` frame text of several events: `{"type":"chat.batch","events":[{event,n}…]}`. */
export function batchText(events: readonly SerializedEvent[]): string {
  const items = events.map((e) =>
    e.n === undefined ? `{"event":${e.json}}` : `{"event":${e.json},"n":${e.n}}`,
  );
  return `{"type":"chat.batch","events":[${items.join(",")}]}`;
}
