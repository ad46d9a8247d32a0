/**
 * Idle timeout with pings: a silent connection is pinged, and dropped when it does not answer; a
 * client that answers pings (every WebSocket implementation does) stays. Bun's shortest timeout is
 * 8 s (a ping at ~4 s), so this file takes that long.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { withTimeout } from "@dispatch/testkit";
import type { ConnectionClosed } from "./contract";
import { RawClient, startTestDaemon, TEST_TOKEN, TestClient, type TestDaemon } from "./test-support";

const IDLE_SEC = 8;
/** The server's timer ticks coarsely (4 s) and the machine may be loaded. */
const PATIENCE_MS = (IDLE_SEC + 6) * 1000;

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon({ ws: { idleTimeoutSec: IDLE_SEC } });
});
afterAll(async () => {
  await d.stop();
});

test(
  "a connection that never answers is pinged, then closed; one that answers pings stays",
  async () => {
    const closed = new Promise<ConnectionClosed>((resolve) => {
      const before = new Set(d.ws.connections().map((c) => c.id));
      const off = d.ws.onConnectionClosed((c) => {
        if (before.has(c.id)) return;
        off();
        resolve(c);
      });
    });
    const live = await TestClient.connect(d.url);
    await live.nextOf("catalog");
    const liveId = d.ws.connections()[0]?.id;
    const { status, client: silent } = await RawClient.upgrade(d.ws.port, {
      Host: `127.0.0.1:${d.ws.port}`,
      Authorization: `Bearer ${TEST_TOKEN}`,
    });
    expect(status).toBe(101);

    await silent.frameOf(0x9, "a ping to the silent connection", PATIENCE_MS);
    const gone = await withTimeout(closed, PATIENCE_MS, "the silent connection to be closed");
    expect(gone.id).not.toBe(liveId);
    expect(gone.code).toBe(1006);
    await silent.whenEnded(PATIENCE_MS);

    // The live client answered its pings the whole time and is still served.
    expect(await live.request({ type: "ping" }, "still-here")).toEqual({
      type: "ack",
      replyTo: "still-here",
    });
    expect(d.ws.connections().map((c) => c.id)).toEqual([liveId as number]);
    live.close();
  },
  PATIENCE_MS + 10_000,
);
