import { describe, expect, test } from "bun:test";
import { badTarget, noHandler, preflight } from "./unrouted";

const table = { "/conversations/:id": ["GET" as const], "/chat": ["POST" as const] };

describe("unrouted requests", () => {
  test("an unknown path is 404; a known path with another method is 405 with Allow", () => {
    expect(noHandler(table, "GET", "/nope")).toEqual({
      kind: "failure",
      failure: { status: 404, code: "HTTP_NOT_FOUND", message: "no route GET /nope" },
    });
    const r = noHandler(table, "DELETE", "/conversations/c1");
    expect(r).toMatchObject({ kind: "failure", failure: { status: 405, code: "HTTP_METHOD_NOT_ALLOWED" } });
    expect(r.kind === "failure" && r.headers).toEqual({ Allow: "GET, OPTIONS" });
  });

  test("a preflight names the path's methods, or is 404 for an unknown path", () => {
    expect(preflight(table, "/chat")).toEqual({ kind: "preflight", allow: "POST, OPTIONS" });
    expect(preflight(table, "/x")).toMatchObject({ kind: "failure", failure: { status: 404 } });
  });

  test("CONNECT and unparsable targets are 400 HTTP_INVALID_PATH; origin-form ones pass", () => {
    expect(badTarget("CONNECT", "example:443", true)?.code).toBe("HTTP_INVALID_PATH");
    expect(badTarget("GET", "??", false)?.status).toBe(400);
    expect(badTarget("GET", "http://127.0.0.1/chat", true)).toBeUndefined();
  });
});
