import { describe, expect, test } from "bun:test";
import { createConnectionPolicy } from "@dispatch/connection-policy";
import { admit } from "./admission";

const TOKEN = "t".repeat(43);
const policy = createConnectionPolicy({
  bindHost: "127.0.0.1",
  token: TOKEN,
  httpOrigins: ["http://127.0.0.1:24203"],
});
const h = (o: Record<string, string>) => new Headers(o);

describe("admit", () => {
  test("a CLI request with the token proceeds without origin", () => {
    expect(admit(policy, "GET", h({ host: "127.0.0.1:24203", authorization: `Bearer ${TOKEN}` }))).toEqual({
      kind: "proceed",
      via: "token",
    });
  });

  test("no token and no origin → 401; wrong token → 401", () => {
    const a = admit(policy, "GET", h({ host: "localhost:1" }));
    expect(a.kind === "deny" && a.failure.status).toBe(401);
    const b = admit(policy, "GET", h({ host: "localhost:1", authorization: "Bearer nope" }));
    expect(b.kind === "deny" && b.failure.code).toBe("POLICY_BAD_TOKEN");
  });

  test("foreign Host → 403 without CORS", () => {
    const a = admit(policy, "GET", h({ host: "evil.example", authorization: `Bearer ${TOKEN}` }));
    expect(a).toMatchObject({ kind: "deny", failure: { status: 403, code: "POLICY_BAD_HOST" } });
    expect("origin" in a).toBe(false);
  });

  test("foreign Origin → 403 without CORS", () => {
    const a = admit(policy, "GET", h({ host: "localhost", origin: "http://evil.example" }));
    expect(a).toMatchObject({ kind: "deny", failure: { status: 403, code: "POLICY_BAD_ORIGIN" } });
    expect("origin" in a).toBe(false);
  });

  test("allowed browser origin of the daemon's user proceeds with its origin to echo", () => {
    const own = { peerIsOwner: () => true as const, session: () => "none" as const };
    const other = { peerIsOwner: () => false as const, session: () => "none" as const };
    const headers = h({ host: "localhost", origin: "http://localhost:24204" });
    expect(admit(policy, "GET", headers, own)).toEqual({
      kind: "proceed",
      via: "owner",
      origin: "http://localhost:24204",
    });
    // A forged Origin from another user's process: 401, readable by an allowed page.
    expect(admit(policy, "GET", headers, other)).toMatchObject({
      kind: "deny",
      failure: { status: 401, code: "POLICY_TOKEN_REQUIRED" },
    });
  });

  test("preflight from an allowed origin passes even when browsers must send the token", () => {
    const strict = createConnectionPolicy({
      bindHost: "127.0.0.1",
      token: TOKEN,
      requireTokenForBrowsers: true,
    });
    const headers = h({
      host: "localhost",
      origin: "http://localhost:24204",
      "access-control-request-method": "POST",
    });
    expect(admit(strict, "OPTIONS", headers)).toEqual({
      kind: "preflight",
      origin: "http://localhost:24204",
    });
    // …but the real request without the token is refused, readable by the page.
    const real = admit(strict, "POST", h({ host: "localhost", origin: "http://localhost:24204" }));
    expect(real).toMatchObject({ kind: "deny", failure: { status: 401 }, origin: "http://localhost:24204" });
  });

  test("preflight from a foreign origin is refused", () => {
    const headers = h({
      host: "localhost",
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    expect(admit(policy, "OPTIONS", headers)).toMatchObject({ kind: "deny", failure: { status: 403 } });
  });

  test("a public route on loopback needs no token, but Host is still checked and a wrong token fails", () => {
    const open = { tokenOptional: true };
    expect(admit(policy, "GET", h({ host: "127.0.0.1:24203" }), undefined, open)).toEqual({
      kind: "proceed",
      via: "public",
    });
    expect(admit(policy, "GET", h({ host: "evil.example" }), undefined, open)).toMatchObject({
      kind: "deny",
      failure: { code: "POLICY_BAD_HOST" },
    });
    expect(
      admit(policy, "GET", h({ host: "127.0.0.1:1", authorization: "Bearer nope" }), undefined, open),
    ).toMatchObject({
      kind: "deny",
      failure: { code: "POLICY_BAD_TOKEN" },
    });
  });
});
