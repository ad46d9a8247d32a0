/**
 * Pure: finds the owner uid of a TCP socket in the text of Linux's `/proc/net/tcp` or `/proc/net/tcp6`.
 *
 * Used to tell whether the peer of a loopback connection runs as the daemon's own user: the peer's
 * socket is the entry whose LOCAL side is the peer's address:port and whose REMOTE port is the
 * server's port. Addresses in those files are hex words in host byte order (little-endian on x86 and
 * arm64); ports are big-endian hex. No I/O here; io/peer-owner.ts reads the files.
 */

export type Endianness = "LE" | "BE";

/** Pure: an IPv4 address (`127.0.0.1`) as the 8 hex digits /proc/net/tcp uses. */
export function ipv4Hex(address: string, endian: Endianness = "LE"): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (m === null) return undefined;
  const bytes = m.slice(1).map(Number);
  if (bytes.some((b) => b > 255)) return undefined;
  const ordered = endian === "LE" ? bytes.reverse() : bytes;
  return ordered
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

/** Pure: the 8 groups of an IPv6 address (`::1`, `::ffff:127.0.0.1`) as 16-bit numbers. */
export function ipv6Groups(address: string): number[] | undefined {
  let a = address.toLowerCase().replace(/^\[|\]$/g, "");
  const pct = a.indexOf("%");
  if (pct !== -1) a = a.slice(0, pct);
  const dotted = /^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(a);
  if (dotted !== null) {
    const v4 = (dotted[2] as string).split(".").map(Number);
    if (v4.some((b) => b > 255)) return undefined;
    const [b0, b1, b2, b3] = v4 as [number, number, number, number];
    a = `${dotted[1]}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16));
}

/** Pure: an IPv6 address as the 32 hex digits /proc/net/tcp6 uses (four 32-bit words, host order). */
export function ipv6Hex(address: string, endian: Endianness = "LE"): string | undefined {
  const g = ipv6Groups(address);
  if (g === undefined) return undefined;
  let out = "";
  for (let w = 0; w < 4; w++) {
    const bytes = [(g[2 * w] as number) >> 8, (g[2 * w] as number) & 255, (g[2 * w + 1] as number) >> 8];
    bytes.push((g[2 * w + 1] as number) & 255);
    const ordered = endian === "LE" ? bytes.reverse() : bytes;
    out += ordered.map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out.toUpperCase();
}

/** Pure: the IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`), if it is one. */
export function unmapIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (g === undefined || g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return undefined;
  const [a, b] = [g[6] as number, g[7] as number];
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

/** The hex spellings under which a peer address may appear, each with the file it appears in. */
export function peerSpellings(
  address: string,
  endian: Endianness = "LE",
): { file: "tcp" | "tcp6"; hex: string }[] {
  const v4 = ipv4Hex(address, endian) !== undefined ? address : unmapIpv4(address);
  const out: { file: "tcp" | "tcp6"; hex: string }[] = [];
  if (v4 !== undefined) out.push({ file: "tcp", hex: ipv4Hex(v4, endian) as string });
  const mapped = ipv6Hex(v4 === undefined ? address : `::ffff:${v4}`, endian);
  if (mapped !== undefined) out.push({ file: "tcp6", hex: mapped });
  return out;
}

function portHex(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, "0");
}

/**
 * Pure: the uid owning the socket whose local side is `localHex:localPort` and whose remote port is
 * `remotePort`, in one file's text; undefined when no such entry. Cheap on big tables: it searches for
 * the exact `ADDR:PORT` text and parses only the lines that contain it.
 */
export function findSocketUid(
  text: string,
  localHex: string,
  localPort: number,
  remotePort: number,
): number | undefined {
  const needle = `${localHex}:${portHex(localPort)} `;
  const remoteSuffix = `:${portHex(remotePort)}`;
  let at = text.indexOf(needle);
  while (at !== -1) {
    const lineStart = text.lastIndexOf("\n", at) + 1;
    const lineEnd = text.indexOf("\n", at);
    const fields = text
      .slice(lineStart, lineEnd === -1 ? text.length : lineEnd)
      .trim()
      .split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid ...
    if (fields[1] === needle.trim() && fields[2]?.toUpperCase().endsWith(remoteSuffix)) {
      const uid = Number(fields[7]);
      if (Number.isInteger(uid) && uid >= 0) return uid;
    }
    at = text.indexOf(needle, at + needle.length);
  }
  return undefined;
}
