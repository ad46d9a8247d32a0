import { describe, expect, test } from "bun:test";
import { addressBytes, diagReplyUid, diagRequest } from "./sock-diag-layout";

describe("sock_diag layouts", () => {
  test("addressBytes: network order, IPv4-mapped becomes IPv4", () => {
    expect(addressBytes("127.0.0.2")?.family).toBe(2);
    expect([...(addressBytes("127.0.0.2")?.bytes ?? [])].slice(0, 4)).toEqual([127, 0, 0, 2]);
    expect(addressBytes("::ffff:127.0.0.1")?.family).toBe(2);
    const v6 = addressBytes("::1");
    expect(v6?.family).toBe(10);
    expect(v6?.bytes[15]).toBe(1);
    expect(addressBytes("nonsense")).toBeUndefined();
  });

  test("diagRequest: nlmsghdr + inet_diag_req_v2 for one 4-tuple", () => {
    const req = diagRequest("127.0.0.1", 0xd431, "127.0.0.2", 0x5e9b, 7) as Uint8Array;
    const v = new DataView(req.buffer);
    expect(req.length).toBe(72);
    expect(v.getUint32(0, true)).toBe(72);
    expect(v.getUint16(4, true)).toBe(20); // SOCK_DIAG_BY_FAMILY
    expect(v.getUint32(8, true)).toBe(7);
    expect([req[16], req[17]]).toEqual([2, 6]); // AF_INET, TCP
    expect(v.getUint16(24, false)).toBe(0xd431);
    expect(v.getUint16(26, false)).toBe(0x5e9b);
    expect([...req.slice(28, 32)]).toEqual([127, 0, 0, 1]);
    expect([...req.slice(44, 48)]).toEqual([127, 0, 0, 2]);
    expect(diagRequest("127.0.0.1", 1, "::1", 2, 1)).toBeUndefined(); // families differ
  });

  test("diagReplyUid: the uid of a reply; errors and short replies are undefined", () => {
    const reply = new Uint8Array(96);
    const v = new DataView(reply.buffer);
    v.setUint16(4, 20, true);
    v.setUint32(80, 1001, true);
    expect(diagReplyUid(reply, 96)).toBe(1001);
    expect(diagReplyUid(reply, 40)).toBeUndefined();
    v.setUint16(4, 2, true); // NLMSG_ERROR
    expect(diagReplyUid(reply, 96)).toBeUndefined();
  });
});
