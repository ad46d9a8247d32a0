import { expect, test } from "bun:test";
import { createConnection, createServer } from "node:net";
import { socketUid } from "./sock-diag";

test.skipIf(process.platform !== "linux")("a real socket: our uid; a closed one: undefined", async () => {
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const client = createConnection({ port, host: "127.0.0.1" });
  await new Promise((r) => client.once("connect", r));
  try {
    expect(socketUid("127.0.0.1", client.localPort as number, "127.0.0.1", port)).toBe(
      process.getuid?.() as number,
    );
    expect(socketUid("127.0.0.1", 1, "127.0.0.1", port)).toBeUndefined();
  } finally {
    client.destroy();
    server.close();
  }
});
