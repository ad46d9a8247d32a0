/**
 * A turn's permission grant (`grant` on chat.send / POST /chat: `dispatch --allow`, `--yes`) lets its
 * tools run unasked, so only a client holding the daemon's token may send one: a browser admitted by
 * its Origin alone gets this error, on both transports.
 */
export const GRANT_NEEDS_TOKEN = {
  code: "FORBIDDEN",
  message: "grant (allowing tools for a turn) needs the daemon's token; this connection did not present it",
} as const;
