import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  FRONTEND_ORIGIN,
  RawClient,
  startTestDaemon,
  TEST_TOKEN,
  TestClient,
  type TestDaemon,
} from "./test-support";

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon({ ws: { httpPort: 24203, allowedOrigins: ["tauri://localhost"] } });
});
afterAll(async () => {
  await d.stop();
});

async function status(headers: Record<string, string>): Promise<number> {
  const { status, client } = await RawClient.upgrade(d.ws.port, headers);
  client.end();
  return status;
}

const host = () => `127.0.0.1:${d.ws.port}`;
const bearer = `Bearer ${TEST_TOKEN}`;

describe("connection policy, checked before upgrading", () => {
  test("a plain HTTP request gets 426", async () => {
    const r = await fetch(`http://127.0.0.1:${d.ws.port}/`, { headers: { Authorization: bearer } });
    expect(r.status).toBe(426);
    expect(r.headers.get("upgrade")).toBe("websocket");
  });

  test("the token is required from non-browser clients (401), a wrong one is refused (401)", async () => {
    expect(await status({ Host: host() })).toBe(401);
    expect(await status({ Host: host(), Authorization: "Bearer wrong-token-value" })).toBe(401);
    expect(await status({ Host: host(), Authorization: bearer })).toBe(101);
  });

  test("a non-loopback Host is refused (403, DNS rebinding)", async () => {
    expect(await status({ Host: "attacker.example:24205", Authorization: bearer })).toBe(403);
    expect(await status({ Host: `localhost:${d.ws.port}`, Authorization: bearer })).toBe(101);
  });

  test("an Origin outside the allow-list is refused (403), even with the token", async () => {
    expect(await status({ Host: host(), Origin: "http://evil.example", Authorization: bearer })).toBe(403);
    expect(await status({ Host: host(), Origin: "null" })).toBe(403);
  });

  test("the frontend's origin connects without a token (compat) and gets the catalog", async () => {
    const c = await TestClient.connect(d.url, { token: null, origin: FRONTEND_ORIGIN });
    const first = await c.nextOf("catalog");
    expect(first.catalog.length).toBeGreaterThan(0);
    expect(d.ws.connections().some((x) => !x.authenticated)).toBe(true);
    c.close();
  });

  test("configured and own-HTTP origins are allowed too", async () => {
    for (const origin of ["tauri://localhost", "http://127.0.0.1:24203", "https://127.0.0.1:24204"]) {
      expect(await status({ Host: host(), Origin: origin })).toBe(101);
    }
  });

  test("the token may come as the dispatch.token.<token> subprotocol, which is echoed back", async () => {
    const protocol = `dispatch.token.${TEST_TOKEN}`;
    const c = await TestClient.connect(d.url, { token: null, protocols: [protocol] });
    expect(c.socket.protocol).toBe(protocol);
    await c.nextOf("catalog");
    c.close();
    expect(await status({ Host: host(), "Sec-WebSocket-Protocol": "dispatch.token.nope" })).toBe(401);
  });
});
