/**
 * I/O: does the peer of a loopback TCP connection run as this process's user? Linux only: the owner uid
 * of the peer's socket, compared with `process.getuid()`. Asked first through netlink sock_diag (an
 * exact kernel lookup, ~0.01–0.1 ms whatever the number of sockets), then, when that cannot answer,
 * from `/proc/net/tcp` and `/proc/net/tcp6` (world-readable; but each read makes the kernel format every
 * socket: measured ~6 ms with 2 400 sockets, ~40 ms with 12 000). Anything else — another OS, an
 * unreadable file, a socket that is gone or never was local — is "unknown", which the policy treats
 * like another user. The policy asks only for tokenless requests from an allowed browser Origin on a
 * loopback Host, and only when no session cookie admits them.
 */
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import type { PeerOwnerLookup } from "../contract";
import { type Endianness, findSocketUid, peerSpellings } from "../proc-net";
import { socketUid } from "./sock-diag";

export interface PeerOwnerOptions {
  /** Where the tables live (tests point this at fixtures); default `/proc/net`. */
  procNet?: string;
  /** The uid to compare with; default `process.getuid()`. */
  uid?: number;
  platform?: string;
  /** Use netlink sock_diag first (default true; tests of the /proc path turn it off). */
  sockDiag?: boolean;
}

/** Pure: the local addresses a same-machine client may have connected to, for the exact lookup. */
export function serverAddressCandidates(peerAddress: string, serverHost: string | undefined): string[] {
  const h = (serverHost ?? "").replace(/^\[|\]$/g, "");
  const wildcard = h === "" || h === "0.0.0.0" || h === "::";
  const out = wildcard
    ? [peerAddress, "127.0.0.1", "::1"]
    : [h === "localhost" ? "127.0.0.1" : h, peerAddress];
  return [...new Set(out)];
}

/** Builds the lookup. On a platform without /proc/net it always answers "unknown". */
export function peerOwnerLookup(opts: PeerOwnerOptions = {}): PeerOwnerLookup {
  const platform = opts.platform ?? process.platform;
  const uid = opts.uid ?? process.getuid?.();
  const dir = opts.procNet ?? "/proc/net";
  const endian: Endianness = endianness();
  if (platform !== "linux" || uid === undefined) return () => "unknown";
  const diag = opts.sockDiag !== false && opts.procNet === undefined;
  return (peer, serverPort, serverHost) => {
    if (peer === null || peer === undefined || !Number.isInteger(peer.port)) return "unknown";
    if (diag) {
      for (const dst of serverAddressCandidates(peer.address, serverHost)) {
        const owner = socketUid(peer.address, peer.port, dst, serverPort);
        if (owner !== undefined) return owner === uid;
      }
    }
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
