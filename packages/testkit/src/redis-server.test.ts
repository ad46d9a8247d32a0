import { afterAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import {
  haveRedis,
  isLoopbackRedisUrl,
  type RedisServer,
  startRedisServer,
  TEST_REDIS_ENV,
  testRedis,
  uniquePrefix,
} from "./redis-server";

test("only loopback redis:// URLs count as test servers", () => {
  expect(isLoopbackRedisUrl("redis://127.0.0.1:6379")).toBe(true);
  expect(isLoopbackRedisUrl("redis://localhost:1")).toBe(true);
  expect(isLoopbackRedisUrl("redis://cache.example.net:6379")).toBe(false);
  expect(isLoopbackRedisUrl("rediss://127.0.0.1:6379")).toBe(false);
  expect(isLoopbackRedisUrl("not a url")).toBe(false);
  expect(uniquePrefix("a")).not.toBe(uniquePrefix("a"));
});

test("a shared test Redis that is not on loopback is refused", async () => {
  await expect(testRedis({ [TEST_REDIS_ENV]: "redis://10.0.0.1:6379" })).rejects.toThrow(/loopback/);
});

describe.skipIf(!haveRedis)("a private redis-server", () => {
  let server: RedisServer | undefined;
  afterAll(() => server?.stop());

  test("answers on loopback, forgets everything when killed and started again, and is gone after stop", async () => {
    server = await startRedisServer();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const client = new RedisClient(server.url, { autoReconnect: false });
    await client.set("k", "v");
    expect(await client.get("k")).toBe("v");
    client.close();

    await server.kill();
    await server.start();
    const again = new RedisClient(server.url, { autoReconnect: false });
    expect(await again.get("k")).toBeNull();
    again.close();

    const port = server.port;
    await server.stop();
    const probe = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    probe.stop(true);
  });

  test("testRedis without the env starts its own and stops it", async () => {
    const redis = await testRedis({});
    const client = new RedisClient(redis.url, { autoReconnect: false });
    expect(await client.send("PING", [])).toBe("PONG");
    client.close();
    await redis.stop();
  });
});
