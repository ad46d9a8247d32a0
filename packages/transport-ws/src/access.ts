import { peerOwnerLookup } from "@dispatch/connection-policy/io";
import type { BrowserAccess } from "./contract";
import { BrowserSessions } from "./sessions";

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
