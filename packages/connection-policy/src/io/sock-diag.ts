/**
 * I/O, Linux only: the owner uid of one TCP socket through netlink `sock_diag` (an exact 4-tuple
 * lookup in the kernel, O(1)), via Bun's FFI to libc. /proc/net/tcp costs the kernel a format of every
 * socket on the machine per read (measured: ~6 ms at 2 400 sockets, ~40 ms at 12 000); this costs
 * microseconds. Any failure (no libc, no netlink, socket gone) is `undefined` and the caller falls
 * back to /proc. The request and reply layouts are pure (sock-diag-layout.ts).
 */
import { diagReplyUid, diagRequest } from "../sock-diag-layout";

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
}

let libc: Libc | null | undefined;
let fd = -1;
let seq = 1;
let reply: Uint8Array | undefined;

function openLibc(): Libc | null {
  try {
    // Loaded lazily so that platforms without it never touch FFI.
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const { symbols } = dlopen("libc.so.6", {
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
      recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
    });
    return {
      socket: (a, b, c) => symbols.socket(a, b, c),
      send: (f, b, l, fl) => Number(symbols.send(f, b, l, fl)),
      recv: (f, b, l, fl) => Number(symbols.recv(f, b, l, fl)),
    };
  } catch {
    return null;
  }
}

/** The owner uid of the TCP socket `src:sport → dst:dport`, or undefined when it cannot be told. */
export function socketUid(src: string, sport: number, dst: string, dport: number): number | undefined {
  if (process.platform !== "linux") return undefined;
  if (libc === undefined) libc = openLibc();
  if (libc === null) return undefined;
  if (fd < 0) {
    // AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG
    fd = libc.socket(16, 2 | 0o2000000, 4);
    if (fd < 0) {
      libc = null;
      return undefined;
    }
  }
  const req = diagRequest(src, sport, dst, dport, seq++);
  if (req === undefined) return undefined;
  if (libc.send(fd, req, req.length, 0) !== req.length) return undefined;
  reply ??= new Uint8Array(8192);
  // The kernel answers before send returns; MSG_DONTWAIT (0x40) so a surprise can never block the loop.
  const n = libc.recv(fd, reply, reply.length, 0x40);
  return n > 0 ? diagReplyUid(reply, n) : undefined;
}
