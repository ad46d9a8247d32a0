/**
 * Pure: the netlink `sock_diag` request and reply layouts for one TCP socket's owner uid (an exact
 * 4-tuple lookup in the kernel). Tested without a kernel; io/sock-diag.ts sends them.
 */
import { ipv4Hex, ipv6Groups, unmapIpv4 } from "./proc-net";

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 1;
/** sizeof(nlmsghdr) + sizeof(inet_diag_req_v2). */
const REQUEST_BYTES = 16 + 56;
/** Offset of `idiag_uid` in a reply: nlmsghdr(16) + family..retrans(4) + sockid(48) + expires, rqueue, wqueue(12). */
const UID_OFFSET = 80;

/** Pure: the 16 address bytes (network order) of an IPv4 or IPv6 address, with its family. */
export function addressBytes(address: string): { family: number; bytes: Uint8Array } | undefined {
  const v4 = ipv4Hex(address, "BE") !== undefined ? address : unmapIpv4(address);
  if (v4 !== undefined) {
    const bytes = new Uint8Array(16);
    bytes.set(v4.split(".").map(Number), 0);
    return { family: AF_INET, bytes };
  }
  const groups = ipv6Groups(address);
  if (groups === undefined) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 255;
  });
  return { family: AF_INET6, bytes };
}

/** Pure: a SOCK_DIAG_BY_FAMILY request for the socket `src:sport → dst:dport` (one family). */
export function diagRequest(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  seq: number,
): Uint8Array | undefined {
  const s = addressBytes(src);
  const d = addressBytes(dst);
  if (s === undefined || d === undefined || s.family !== d.family) return undefined;
  const buf = new Uint8Array(REQUEST_BYTES);
  const v = new DataView(buf.buffer);
  v.setUint32(0, REQUEST_BYTES, true);
  v.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
  v.setUint16(6, NLM_F_REQUEST, true);
  v.setUint32(8, seq, true);
  buf[16] = s.family;
  buf[17] = IPPROTO_TCP;
  v.setUint32(20, 0xffffffff, true); // every state
  v.setUint16(24, sport, false);
  v.setUint16(26, dport, false);
  buf.set(s.bytes, 28);
  buf.set(d.bytes, 44);
  v.setUint32(60, 0, true); // any interface
  v.setUint32(64, 0xffffffff, true); // INET_DIAG_NOCOOKIE
  v.setUint32(68, 0xffffffff, true);
  return buf;
}

/** Pure: the uid in a reply, or undefined for an error reply (no such socket) or a short one. */
export function diagReplyUid(reply: Uint8Array, length: number): number | undefined {
  if (length < 16) return undefined;
  const v = new DataView(reply.buffer, reply.byteOffset, length);
  if (v.getUint16(4, true) === NLMSG_ERROR || v.getUint16(4, true) !== SOCK_DIAG_BY_FAMILY) return undefined;
  return length >= UID_OFFSET + 4 ? v.getUint32(UID_OFFSET, true) : undefined;
}
