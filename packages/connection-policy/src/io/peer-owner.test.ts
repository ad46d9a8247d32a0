import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerOwnerLookup, serverAddressCandidates } from "./peer-owner";

const linux = process.platform === "linux";

describe("peerOwnerLookup", () => {
  const dir = mkdtempSync(join(tmpdir(), "proc-net-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("fixture tables: own uid → true, other uid → false, absent → unknown", () => {
    writeFileSync(
      join(dir, "tcp"),
      `  sl  local_address rem_address   st\n   1: 0100007F:D431 0100007F:5E9B 01 00000000:00000000 00:00000000 00000000  1001 0 5 1\n`,
    );
    writeFileSync(join(dir, "tcp6"), "  sl  local_address remote_address st\n");
    const as1001 = peerOwnerLookup({ procNet: dir, uid: 1001, platform: "linux" });
    const as1000 = peerOwnerLookup({ procNet: dir, uid: 1000, platform: "linux" });
    expect(as1001({ address: "127.0.0.1", port: 0xd431 }, 0x5e9b)).toBe(true);
    expect(as1001({ address: "::ffff:127.0.0.1", port: 0xd431 }, 0x5e9b)).toBe(true);
    expect(as1000({ address: "127.0.0.1", port: 0xd431 }, 0x5e9b)).toBe(false);
    expect(as1001({ address: "127.0.0.1", port: 1 }, 0x5e9b)).toBe("unknown");
    expect(as1001(null, 0x5e9b)).toBe("unknown");
    expect(
      peerOwnerLookup({ procNet: join(dir, "missing"), uid: 1, platform: "linux" })(
        { address: "127.0.0.1", port: 0xd431 },
        0x5e9b,
      ),
    ).toBe("unknown");
    expect(peerOwnerLookup({ platform: "darwin", uid: 1001 })({ address: "127.0.0.1", port: 1 }, 2)).toBe(
      "unknown",
    );
  });

  test.skipIf(!linux)(
    "a real loopback connection of this process is ours (netlink and /proc, v4 and v6)",
    async () => {
      for (const [lookup, hostname] of [
        [peerOwnerLookup(), "127.0.0.1"],
        [peerOwnerLookup(), "::1"],
        [peerOwnerLookup({ sockDiag: false }), "127.0.0.1"],
        [peerOwnerLookup({ sockDiag: false }), "::1"],
      ] as const) {
        let seen: boolean | "unknown" | undefined;
        const server = Bun.serve({
          hostname,
          port: 0,
          fetch(req, srv) {
            seen = lookup(srv.requestIP(req), srv.port as number, hostname);
            return new Response("ok");
          },
        });
        try {
          const host = hostname.includes(":") ? `[${hostname}]` : hostname;
          await (await fetch(`http://${host}:${server.port}/`)).text();
          expect(seen).toBe(true);
        } finally {
          server.stop(true);
        }
      }
    },
  );
});

test("serverAddressCandidates: the bind address first, wildcards try the peer's own address", () => {
  expect(serverAddressCandidates("127.0.0.1", "127.0.0.2")).toEqual(["127.0.0.2", "127.0.0.1"]);
  expect(serverAddressCandidates("127.0.0.1", "localhost")).toEqual(["127.0.0.1"]);
  expect(serverAddressCandidates("::ffff:127.0.0.1", "::")).toEqual(["::ffff:127.0.0.1", "127.0.0.1", "::1"]);
  expect(serverAddressCandidates("::1", "[::1]")).toEqual(["::1"]);
});
