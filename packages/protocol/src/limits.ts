/**
 * Size caps enforced on inbound frames and HTTP bodies. Lengths count UTF-16 code units (`string.length`).
 * A value past a cap is rejected with PROTOCOL_TOO_LARGE, never truncated. Outbound (server) shapes are
 * not capped: tool output and history can legitimately be large.
 */

/** Identifiers: `id`, conversation/surface/action/request/message/turn/workspace/computer ids, mime types. */
export const MAX_ID_CHARS = 200;
/** A user prompt (`chat.send.message`, `chat.queue.text`, `POST /chat`, queue bodies): 1 MiB. */
export const MAX_MESSAGE_CHARS = 1024 * 1024;
/** Model names (`<credential>/<model>`). */
export const MAX_NAME_CHARS = 512;
/** Working directories. */
export const MAX_PATH_CHARS = 4096;
/** Conversation titles. */
export const MAX_TITLE_CHARS = 1000;
/** Search text and opaque cursors in `GET /conversations`. */
export const MAX_QUERY_CHARS = 1000;
/** Images attached to one message. */
export const MAX_IMAGES = 16;
/** One image URL; `data:` URLs of a ~12 MB image fit. */
export const MAX_IMAGE_URL_CHARS = 16 * 1024 * 1024;
/** `limit` of list and window queries. */
export const MAX_PAGE_LIMIT = 10_000;
/** Largest `batchMs` a `hello` may ask for (PROTOCOL.md §8). */
export const MAX_BATCH_MS = 250;

export const PROTOCOL_LIMITS = {
  MAX_ID_CHARS,
  MAX_MESSAGE_CHARS,
  MAX_NAME_CHARS,
  MAX_PATH_CHARS,
  MAX_TITLE_CHARS,
  MAX_QUERY_CHARS,
  MAX_IMAGES,
  MAX_IMAGE_URL_CHARS,
  MAX_PAGE_LIMIT,
} as const;
