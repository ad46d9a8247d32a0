/**
 * `@dispatch/event-streams`: the transport-neutral, pure parts of watching (PROTOCOL.md §8) — channel
 * patterns, stream positions (`Last-Event-ID`, long-poll cursors, `waitMs`), SSE framing, event frames
 * from one serialization, and the batching window. The daemon's transports and a relay share them.
 */
export * from "./batch";
export * from "./channels";
export * from "./cursors";
export * from "./frames";
export * from "./sse";
