import { describe, expect, test } from "bun:test";
import {
  bearerToken,
  type ConnectionPolicy,
  checkConnection,
  checkHostAndOrigin,
  checkUpgrade,
  constantTimeEqual,
  corsHeaders,
  createConnectionPolicy,
  hostName,
  isLoopbackAddress,
  isLoopbackPeer,
  type PolicyDecision,
  type SessionState,
  type ShareCheck,
  shareCredential,
  tokenSubprotocol,
} from "./index";

const TOKEN = "0123456789abcdef0123456789abcdef";
const loopback = createConnectionPolicy({
  bindHost: "127.0.0.1",
  token: TOKEN,
  httpOrigins: ["http://127.0.0.1:24203"],
});

function h(fields: Record<string, string>): Headers {
  return new Headers(fields);
}

function code(d: PolicyDecision): string {
  return d.ok ? "ok" : `${d.status} ${d.code}`;
}

describe("helpers", () => {
  test("isLoopbackAddress", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
      expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ["0.0.0.0", "::", "192.168.1.5", "example.com"]) expect(isLoopbackAddress(a)).toBe(false);
  });

  test("hostName strips the port, keeps IPv6 brackets", () => {
    expect(hostName("LocalHost:24205")).toBe("localhost");
    expect(hostName("[::1]:24205")).toBe("[::1]");
    expect(hostName("127.0.0.1")).toBe("127.0.0.1");
  });

  test("constantTimeEqual", () => {
    expect(constantTimeEqual(TOKEN, TOKEN)).toBe(true);
    expect(constantTimeEqual(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(constantTimeEqual(TOKEN, TOKEN.replace("0", "1"))).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(constantTimeEqual("", "a")).toBe(false);
  });

  test("token extraction from Authorization and Sec-WebSocket-Protocol", () => {
    expect(bearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerToken(`bearer   ${TOKEN} `)).toBe(TOKEN);
    expect(bearerToken(`Basic ${TOKEN}`)).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
    expect(tokenSubprotocol(`chat, dispatch.token.${TOKEN}`)).toEqual({
      token: TOKEN,
      subprotocol: `dispatch.token.${TOKEN}`,
    });
    expect(tokenSubprotocol("chat")).toBeUndefined();
  });

  test("corsHeaders echoes the origin, never *", () => {
    expect(corsHeaders(undefined)).toEqual({});
    const c = corsHeaders("http://localhost:24204");
    expect(c["Access-Control-Allow-Origin"]).toBe("http://localhost:24204");
    expect(c["Access-Control-Allow-Methods"]).toBe("GET, POST, PUT, DELETE, OPTIONS");
    expect(c["Access-Control-Allow-Headers"]).toBe("Content-Type, Authorization");
  });
});

type Facts = { owner?: true | false | "unknown"; session?: SessionState };

/** Runs the policy with fixed facts and records which facts it asked for. */
function run(p: ConnectionPolicy, headers: Record<string, string>, f: Facts = {}) {
  const asked: string[] = [];
  const d = checkConnection(p, h(headers), {
    peerIsOwner: () => {
      asked.push("owner");
      return f.owner ?? "unknown";
    },
    session: () => {
      asked.push("session");
      return f.session ?? "none";
    },
  });
  return { d, asked, code: d.ok ? `ok ${d.via}` : `${d.status} ${d.code}` };
}

const FRONTEND = "http://localhost:24204";
const lan = createConnectionPolicy({ bindHost: "0.0.0.0", token: TOKEN, allowedHosts: ["dev.box"] });
const alias = createConnectionPolicy({
  bindHost: "127.0.0.2",
  token: TOKEN,
  allowedHosts: ["myhost.test"],
  httpPort: 4000,
});
const trusting = createConnectionPolicy({ bindHost: "127.0.0.1", token: TOKEN, trustLocalBrowsers: true });
const strict = createConnectionPolicy({ bindHost: "127.0.0.1", token: TOKEN, requireTokenForBrowsers: true });
const bearer = { authorization: `Bearer ${TOKEN}` };

/** [what, policy, headers, facts, expected] — the whole decision, one row per case. */
const TABLE: [string, ConnectionPolicy, Record<string, string>, Facts, string][] = [
  // Host (DNS rebinding)
  ["foreign Host", loopback, { host: "evil.example:24205", ...bearer }, {}, "403 POLICY_BAD_HOST"],
  ["no Host", loopback, { ...bearer }, {}, "403 POLICY_BAD_HOST"],
  ["Host localhost:evil.com", loopback, { host: "localhost:evil.com", ...bearer }, {}, "403 POLICY_BAD_HOST"],
  ["Host [::1]", loopback, { host: "[::1]:24205", ...bearer }, {}, "ok token"],
  ["Host LOCALHOST", loopback, { host: "LOCALHOST", ...bearer }, {}, "ok token"],
  ["allowedHosts on a loopback alias", alias, { host: "myhost.test:9", ...bearer }, {}, "ok token"],
  ["the alias bind address itself", alias, { host: "127.0.0.2:9", ...bearer }, {}, "ok token"],
  ["unlisted name on an alias", alias, { host: "other.test", ...bearer }, {}, "403 POLICY_BAD_HOST"],
  ["allowedHosts on a LAN bind", lan, { host: "dev.box:24205", ...bearer }, {}, "ok token"],
  ["unlisted name on a LAN bind", lan, { host: "other.box", ...bearer }, {}, "403 POLICY_BAD_HOST"],
  // Origin
  [
    "other origin, with token",
    loopback,
    { host: "localhost", origin: "http://evil.example", ...bearer },
    {},
    "403 POLICY_BAD_ORIGIN",
  ],
  ["origin null", loopback, { host: "localhost", origin: "null" }, { owner: true }, "403 POLICY_BAD_ORIGIN"],
  [
    "other origin, valid cookie",
    alias,
    { host: "myhost.test", origin: "http://evil.test" },
    { session: "valid" },
    "403 POLICY_BAD_ORIGIN",
  ],
  [
    "own HTTP origin via alias name",
    alias,
    { host: "myhost.test:5", origin: "http://myhost.test:4000" },
    { session: "valid" },
    "ok session",
  ],
  [
    "own name, other port",
    alias,
    { host: "myhost.test", origin: "http://myhost.test:4001" },
    { session: "valid" },
    "403 POLICY_BAD_ORIGIN",
  ],
  // Token
  ["no Origin, no token", loopback, { host: "127.0.0.1" }, { owner: true }, "401 POLICY_TOKEN_REQUIRED"],
  [
    "no Origin, valid cookie",
    loopback,
    { host: "127.0.0.1" },
    { session: "valid" },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "same-origin GET of a served page, valid cookie",
    alias,
    { host: "myhost.test", "sec-fetch-site": "same-origin" },
    { session: "valid" },
    "ok session",
  ],
  [
    "same-origin GET, no cookie",
    alias,
    { host: "myhost.test", "sec-fetch-site": "same-origin" },
    { owner: true },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "same-origin GET over plain HTTP (Referer), valid cookie",
    alias,
    { host: "myhost.test", referer: "http://myhost.test:4000/app?x" },
    { session: "valid" },
    "ok session",
  ],
  [
    "GET with a foreign Referer, valid cookie",
    alias,
    { host: "myhost.test", referer: "http://myhost.test:4001/" },
    { session: "valid" },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "same-origin Referer, no cookie",
    alias,
    { host: "myhost.test", referer: "http://myhost.test:4000/" },
    { owner: true },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "web root on loopback: same-origin GET of the owner",
    loopback,
    { host: "127.0.0.1:24203", "sec-fetch-site": "same-origin" },
    { owner: true },
    "ok owner",
  ],
  [
    "web root on loopback: same-origin GET of another user",
    loopback,
    { host: "127.0.0.1:24203", "sec-fetch-site": "same-origin" },
    { owner: false },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "cross-site <img> GET on loopback, owner",
    loopback,
    { host: "127.0.0.1", "sec-fetch-site": "cross-site", referer: "http://evil.example/" },
    { owner: true },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "same-site <img> GET, valid cookie",
    alias,
    { host: "myhost.test", "sec-fetch-site": "same-site" },
    { session: "valid" },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  ["wrong token", loopback, { host: "127.0.0.1", authorization: "Bearer nope" }, {}, "401 POLICY_BAD_TOKEN"],
  [
    "wrong token, allowed origin, owner",
    loopback,
    { host: "localhost", origin: FRONTEND, "sec-websocket-protocol": "dispatch.token.x" },
    { owner: true },
    "401 POLICY_BAD_TOKEN",
  ],
  // The local path: allowed origin + loopback Host + the peer runs as the daemon's user
  [
    "forged Origin, peer of another user",
    loopback,
    { host: "localhost", origin: FRONTEND },
    { owner: false },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "forged Origin, owner unknown",
    loopback,
    { host: "localhost", origin: FRONTEND },
    { owner: "unknown" },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "frontend of the daemon's user",
    loopback,
    { host: "localhost:24205", origin: FRONTEND },
    { owner: true },
    "ok owner",
  ],
  [
    "own HTTP origin, owner",
    loopback,
    { host: "127.0.0.1", origin: "http://127.0.0.1:24203" },
    { owner: true },
    "ok owner",
  ],
  [
    "trustLocalBrowsers skips the owner check",
    trusting,
    { host: "localhost", origin: FRONTEND },
    { owner: false },
    "ok trusted",
  ],
  [
    "requireTokenForBrowsers: owner is not enough",
    strict,
    { host: "localhost", origin: FRONTEND },
    { owner: true },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "requireTokenForBrowsers: a paired cookie is",
    strict,
    { host: "localhost", origin: FRONTEND },
    { session: "valid" },
    "ok session",
  ],
  [
    "alias name is not the local path",
    alias,
    { host: "myhost.test", origin: "http://myhost.test:4000" },
    { owner: true },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  [
    "LAN bind: owner is not enough",
    lan,
    { host: "dev.box", origin: FRONTEND },
    { owner: true },
    "401 POLICY_TOKEN_REQUIRED",
  ],
  // Sessions
  ["LAN bind, valid cookie", lan, { host: "dev.box", origin: FRONTEND }, { session: "valid" }, "ok session"],
  [
    "LAN bind, forged or expired cookie",
    lan,
    { host: "dev.box", origin: FRONTEND },
    { session: "invalid" },
    "401 POLICY_BAD_SESSION",
  ],
  [
    "alias, revoked cookie",
    alias,
    { host: "myhost.test", origin: "http://myhost.test:4000" },
    { session: "invalid" },
    "401 POLICY_BAD_SESSION",
  ],
  [
    "token wins over a bad cookie",
    lan,
    { host: "dev.box", origin: FRONTEND, ...bearer },
    { session: "invalid" },
    "ok token",
  ],
];

describe("checkConnection decision table", () => {
  for (const [what, p, headers, facts, expected] of TABLE) {
    test(what, () => expect(run(p, headers, facts).code).toBe(expected));
  }

  test("the /proc lookup runs only when it decides: tokenless, allowed Origin, loopback Host, no cookie", () => {
    expect(run(loopback, { host: "127.0.0.1", ...bearer }).asked).toEqual([]);
    expect(run(loopback, { host: "127.0.0.1" }).asked).toEqual([]);
    expect(run(loopback, { host: "localhost", origin: "http://evil" }).asked).toEqual([]);
    expect(run(loopback, { host: "localhost", origin: FRONTEND }, { session: "valid" }).asked).toEqual([
      "session",
    ]);
    expect(run(lan, { host: "dev.box", origin: FRONTEND }).asked).toEqual(["session"]);
    expect(run(trusting, { host: "localhost", origin: FRONTEND }).asked).toEqual(["session"]);
    expect(run(loopback, { host: "localhost", origin: FRONTEND }).asked).toEqual(["session", "owner"]);
  });

  test("the result carries the origin to echo and the subprotocol", () => {
    const d = run(loopback, { host: "localhost", origin: "HTTP://LOCALHOST:24204/" }, { owner: true }).d;
    expect(d).toEqual({ ok: true, authenticated: false, via: "owner", origin: "HTTP://LOCALHOST:24204/" });
    const t = run(loopback, { host: "127.0.0.1", "sec-websocket-protocol": `dispatch.token.${TOKEN}` }).d;
    expect(t).toEqual({
      ok: true,
      authenticated: true,
      via: "token",
      subprotocol: `dispatch.token.${TOKEN}`,
    });
  });

  test("a 401 for a browser says how to pair", () => {
    const d = run(lan, { host: "dev.box", origin: FRONTEND }).d;
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.message).toContain("dispatch pair");
  });

  test("configured origins are allowed", () => {
    const p = createConnectionPolicy({
      bindHost: "127.0.0.1",
      token: TOKEN,
      allowedOrigins: ["tauri://localhost"],
    });
    expect(run(p, { host: "localhost", origin: "tauri://localhost" }, { owner: true }).code).toBe("ok owner");
  });

  test("checkHostAndOrigin (public resources) needs no credentials", () => {
    expect(checkHostAndOrigin(alias, h({ host: "myhost.test:4000" })).ok).toBe(true);
    expect(checkHostAndOrigin(alias, h({ host: "evil.test" })).ok).toBe(false);
    expect(checkHostAndOrigin(alias, h({ host: "myhost.test", origin: "http://evil.test" })).ok).toBe(false);
  });
});

describe("checkUpgrade", () => {
  test("a plain HTTP request gets 426", () => {
    expect(code(checkUpgrade(loopback, "GET", h({ host: "127.0.0.1" })))).toBe("426 POLICY_UPGRADE_REQUIRED");
    expect(code(checkUpgrade(loopback, "POST", h({ host: "127.0.0.1", upgrade: "websocket" })))).toBe(
      "426 POLICY_UPGRADE_REQUIRED",
    );
  });

  test("an upgrade goes through the connection policy", () => {
    expect(code(checkUpgrade(loopback, "GET", h({ host: "127.0.0.1", upgrade: "websocket" })))).toBe(
      "401 POLICY_TOKEN_REQUIRED",
    );
    expect(
      code(
        checkUpgrade(
          loopback,
          "GET",
          h({ host: "127.0.0.1", upgrade: "WebSocket", authorization: `Bearer ${TOKEN}` }),
        ),
      ),
    ).toBe("ok");
  });
});

test("pure: loopback peers", () => {
  expect(["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"].map(isLoopbackPeer)).toEqual([
    true,
    true,
    true,
    true,
  ]);
  expect(["10.0.0.1", "::ffff:10.0.0.1", "", undefined, "fe80::1"].map(isLoopbackPeer)).toEqual([
    false,
    false,
    false,
    false,
    false,
  ]);
});

describe("share admission (PROTOCOL.md §8)", () => {
  const policy = createConnectionPolicy({ bindHost: "127.0.0.1", token: "t0k3n" });
  const h = (o: Record<string, string>) => new Headers({ host: "127.0.0.1:24203", ...o });
  const viewerFacts = (check: ShareCheck | undefined) => ({
    peerIsOwner: () => true as const,
    session: () => "none" as const,
    share: () => check,
  });
  const valid: ShareCheck = { ok: true, shareId: "s1", conversationId: "c1" };

  test("a share secret makes a viewer, even where the local-browser path would make an owner", () => {
    const d = checkConnection(
      policy,
      h({ origin: "http://localhost:24204", "sec-websocket-protocol": "dispatch.share.x" }),
      viewerFacts(valid),
    );
    expect(d).toMatchObject({ ok: true, via: "share", share: { shareId: "s1", conversationId: "c1" } });
    expect(d.ok && d.subprotocol).toBe("dispatch.share.x");
  });

  test("the token wins over a share; a bad share is 401, a limited one 429 with its wait", () => {
    expect(checkConnection(policy, h({ authorization: "Bearer t0k3n" }), viewerFacts(valid))).toMatchObject({
      ok: true,
      via: "token",
    });
    expect(
      checkConnection(policy, h({}), viewerFacts({ ok: false, rateLimited: false, message: "revoked" })),
    ).toEqual({ ok: false, status: 401, code: "POLICY_BAD_SHARE", message: "revoked" });
    expect(
      checkConnection(
        policy,
        h({}),
        viewerFacts({ ok: false, rateLimited: true, message: "slow down", retryAfterSec: 7 }),
      ),
    ).toEqual({
      ok: false,
      status: 429,
      code: "POLICY_SHARE_RATE_LIMITED",
      message: "slow down",
      retryAfterSec: 7,
    });
    // Host is still checked first.
    expect(checkConnection(policy, new Headers({ host: "evil.example" }), viewerFacts(valid))).toMatchObject({
      ok: false,
      code: "POLICY_BAD_HOST",
    });
  });

  test("shareCredential: subprotocol, Authorization: Share, ?share= on a GET only", () => {
    expect(shareCredential(h({ "sec-websocket-protocol": "x, dispatch.share.abc" }), "GET")).toBe("abc");
    expect(shareCredential(h({ authorization: "Share abc" }), "POST")).toBe("abc");
    expect(shareCredential(h({}), "GET", "http://h/x?share=abc&y=1")).toBe("abc");
    expect(shareCredential(h({}), "POST", "http://h/x?share=abc")).toBeUndefined();
    expect(shareCredential(h({ authorization: "Bearer abc" }), "GET", "http://h/x")).toBeUndefined();
  });
});
