/**
 * The Bun.serve shell on its own: a real server on port 0 with a route table whose handlers fail in
 * the ways services can (an exception, a rejection), driven over real HTTP.
 */
import { afterAll, expect, test } from "bun:test";
import { createMemoryLogger } from "@dispatch/kernel";
import type { RouteTable } from "./api";
import { type RunningHttpServer, startHttpServer } from "./server";

const TOKEN = "server-test-token-0123456789";
const SECRET = "db-password-hunter2";
const logger = createMemoryLogger();

const routes: RouteTable = {
  "/boom": {
    GET: () => {
      throw new Error(`connection to sqlite failed (${SECRET})`);
    },
  },
  "/boom-async": {
    POST: async () => {
      await Promise.resolve();
      throw "not even an Error";
    },
  },
  "/ok": { GET: () => Response.json({ ok: true }) },
};

const server: RunningHttpServer = startHttpServer({
  host: "127.0.0.1",
  port: 0,
  token: TOKEN,
  allowedOrigins: [],
  allowedHosts: [],
  requireTokenForBrowsers: false,
  maxBodyBytes: 1024,
  idleTimeoutSec: 10,
  routes,
  logger,
});
afterAll(() => server.stop(true));

const get = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
  });

test("an exception in a handler is a 500 { error, code } naming a request id; the details go to the log only", async () => {
  const res = await get("/boom");
  expect(res.status).toBe(500);
  expect(res.headers.get("content-type")).toContain("application/json");
  const text = await res.text();
  const body = JSON.parse(text) as { error: string; code: string };
  expect(Object.keys(body).sort()).toEqual(["code", "error"]);
  expect(body.code).toBe("HTTP_INTERNAL");
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain("server.test.ts");
  const requestId = /request (req-\d+)/.exec(body.error)?.[1];
  expect(requestId).toBeDefined();
  const logged = logger.records.find((r) => r.level === "error" && r.fields.requestId === requestId);
  expect(logged?.fields).toMatchObject({ method: "GET", path: "/boom" });
  expect(String((logged?.fields.err as Error | undefined)?.message)).toContain(SECRET);
});

test("a rejected async handler, even with a non-Error, is a 500 with CORS for an allowed origin", async () => {
  const origin = "http://localhost:24204";
  const res = await get("/boom-async", { method: "POST", headers: { origin } });
  expect(res.status).toBe(500);
  expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  expect(await res.json()).toMatchObject({ code: "HTTP_INTERNAL" });
});

test("the server keeps serving after failures", async () => {
  expect((await get("/boom")).status).toBe(500);
  expect(await (await get("/ok")).json()).toEqual({ ok: true });
  expect((await get("/nowhere")).status).toBe(404);
});
