import type { PeerOwnerLookup } from "../contract";
import { BrowserSessions } from "./browser-sessions";
import { peerOwnerLookup } from "./peer-owner";

/**
 * Browser access shared by both ports (one instance per daemon): paired-browser sessions and the peer
 * owner lookup. transport-ws provides it (as its `BrowserAccess` handle); transport-http uses it for
 * `/pair`, `/pairings` and its own admission, and reports its bound port so pages it serves are allowed
 * origins on the WebSocket port too.
 */
export interface BrowserAccess {
  readonly sessions: BrowserSessions;
  readonly peerOwner: PeerOwnerLookup;
  /** The HTTP port once it listens. */
  readonly httpPort: number | undefined;
  setHttpPort(port: number): void;
}

/** The shared browser-access object (sessions, peer owner lookup, the HTTP port once known). */
export function browserAccess(sessions: BrowserSessions = new BrowserSessions()): BrowserAccess {
  let httpPort: number | undefined;
  return {
    sessions,
    peerOwner: peerOwnerLookup(),
    get httpPort() {
      return httpPort;
    },
    setHttpPort(port) {
      httpPort = port;
    },
  };
}
