import { describe, expect, test } from "bun:test";
import { findSocketUid, ipv4Hex, ipv6Hex, peerSpellings, unmapIpv4 } from "./proc-net";

// Real lines (trimmed columns kept), as Linux x86-64 prints them.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:5E9B 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1156 1 0 100 0 0 10 0
   1: 0100007F:D431 0100007F:5E9B 01 00000000:00000000 00:00000000 00000000  1001        0 59533 1 0 20 4 30 10 -1
   2: 0100007F:5E9B 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 59534 1 0 20 4 30 10 -1
   3: 0200007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 59535 1 0 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:C350 00000000000000000000000001000000:5E9B 01 00000000:00000000 00:00000000 00000000  1002        0 777 1 0 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:C351 0000000000000000FFFF00000100007F:5E9B 01 00000000:00000000 00:00000000 00000000  1003        0 778 1 0 20 4 30 10 -1
`;

describe("hex spellings", () => {
  test("IPv4 in host byte order", () => {
    expect(ipv4Hex("127.0.0.1")).toBe("0100007F");
    expect(ipv4Hex("127.0.0.2")).toBe("0200007F");
    expect(ipv4Hex("127.0.0.1", "BE")).toBe("7F000001");
    expect(ipv4Hex("256.0.0.1")).toBeUndefined();
    expect(ipv4Hex("::1")).toBeUndefined();
  });

  test("IPv6 as four host-order words, IPv4-mapped included", () => {
    expect(ipv6Hex("::1")).toBe("00000000000000000000000001000000");
    expect(ipv6Hex("::ffff:127.0.0.1")).toBe("0000000000000000FFFF00000100007F");
    expect(ipv6Hex("[::1]")).toBe("00000000000000000000000001000000");
    expect(ipv6Hex("fe80::1%lo")).toBe("000080FE000000000000000001000000");
    expect(ipv6Hex("1::2::3")).toBeUndefined();
    expect(ipv6Hex("127.0.0.1")).toBeUndefined();
    expect(unmapIpv4("::ffff:127.0.0.2")).toBe("127.0.0.2");
    expect(unmapIpv4("::1")).toBeUndefined();
  });

  test("a mapped peer is looked for in tcp (as IPv4) and in tcp6 (as mapped)", () => {
    expect(peerSpellings("::ffff:127.0.0.1")).toEqual([
      { file: "tcp", hex: "0100007F" },
      { file: "tcp6", hex: "0000000000000000FFFF00000100007F" },
    ]);
    expect(peerSpellings("::1")).toEqual([{ file: "tcp6", hex: "00000000000000000000000001000000" }]);
    expect(peerSpellings("not an address")).toEqual([]);
  });
});

describe("findSocketUid", () => {
  test("finds the client side of the connection, not the server side", () => {
    // Peer 127.0.0.1:54321 (0xD431) connected to server port 24219 (0x5E9B): uid 1001.
    expect(findSocketUid(TCP, "0100007F", 0xd431, 0x5e9b)).toBe(1001);
    // The server's own accepted socket (local port 24219) is never mistaken for the peer.
    expect(findSocketUid(TCP, "0100007F", 0x5e9b, 0xd431)).toBe(1000);
    expect(findSocketUid(TCP, "0100007F", 0xd431, 0x1f90)).toBeUndefined();
    // Same port on another loopback address is another socket.
    expect(findSocketUid(TCP, "0200007F", 0xd431, 0x1f90)).toBe(0);
    expect(findSocketUid(TCP, "0200007F", 0xd431, 0x5e9b)).toBeUndefined();
  });

  test("tcp6, with IPv4-mapped addresses", () => {
    expect(findSocketUid(TCP6, "00000000000000000000000001000000", 0xc350, 0x5e9b)).toBe(1002);
    expect(findSocketUid(TCP6, "0000000000000000FFFF00000100007F", 0xc351, 0x5e9b)).toBe(1003);
  });

  test("empty, header-only and garbage tables find nothing", () => {
    for (const text of ["", TCP.split("\n")[0] as string, "0100007F:D431 garbage", "\n\n\n"])
      expect(findSocketUid(text, "0100007F", 0xd431, 0x5e9b)).toBeUndefined();
  });

  test("a big table is searched without parsing every line", () => {
    const lines = [TCP.split("\n")[0]];
    for (let i = 0; i < 20_000; i++) {
      const port = (1024 + i).toString(16).toUpperCase().padStart(4, "0");
      lines.push(
        `${i}: 0100007F:${port} 0100007F:0050 01 00000000:00000000 00:00000000 00000000  ${i % 7} 0 ${i} 1`,
      );
    }
    const text = lines.join("\n");
    expect(findSocketUid(text, "0100007F", 1024 + 19_999, 0x50)).toBe(19_999 % 7);
    expect(findSocketUid(text, "0100007F", 1024 + 20_000, 0x50)).toBeUndefined();
  });
});
