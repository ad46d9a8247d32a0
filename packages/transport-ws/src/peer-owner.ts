/**
 * I/O: does the peer of a loopback TCP connection run as this process's user? Linux only: reads
 * `/proc/net/tcp` and `/proc/net/tcp6` (world-readable, no privileges) and compares the owner uid of the
 * peer's socket with `process.getuid()`. Anything else — another OS, an unreadable file, a socket that
 * is gone or never was local — is "unknown", which the policy treats like another user.
 *
 * Cost: one read of the table per call (the kernel formats every socket), then a substring search;
 * ~0.1 ms for a few hundred sockets, ~2–4 ms for 10 000. The policy asks only for tokenless requests
 * from an allowed browser Origin on a loopback Host, and only when no session cookie admits them.
 */
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { type Endianness, findSocketUid, peerSpellings } from "./proc-net";

export type PeerOwner = true | false | "unknown";

export interface PeerAddress {
  address: string;
  port: number;
}

/** `peer` is the client's address:port as the server sees it; `serverPort` the port it connected to. */
export type PeerOwnerLookup = (peer: PeerAddress | null | undefined, serverPort: number) => PeerOwner;

export interface PeerOwnerOptions {
  /** Where the tables live (tests point this at fixtures); default `/proc/net`. */
  procNet?: string;
  /** The uid to compare with; default `process.getuid()`. */
  uid?: number;
  platform?: string;
}

/** Builds the lookup. On a platform without /proc/net it always answers "unknown". */
export function peerOwnerLookup(opts: PeerOwnerOptions = {}): PeerOwnerLookup {
  const platform = opts.platform ?? process.platform;
  const uid = opts.uid ?? process.getuid?.();
  const dir = opts.procNet ?? "/proc/net";
  const endian: Endianness = endianness();
  if (platform !== "linux" || uid === undefined) return () => "unknown";
  return (peer, serverPort) => {
    if (peer === null || peer === undefined || !Number.isInteger(peer.port)) return "unknown";
    for (const { file, hex } of peerSpellings(peer.address, endian)) {
      let text: string;
      try {
        text = readFileSync(`${dir}/${file}`, "latin1");
      } catch {
        continue;
      }
      const owner = findSocketUid(text, hex, peer.port, serverPort);
      if (owner !== undefined) return owner === uid;
    }
    return "unknown";
  };
}
