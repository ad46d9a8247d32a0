import { describe, expect, test } from "bun:test";
import {
  bearerToken,
  checkConnection,
  checkUpgrade,
  constantTimeEqual,
  corsHeaders,
  createConnectionPolicy,
  hostName,
  isLoopbackAddress,
  type PolicyDecision,
  tokenSubprotocol,
} from "./policy";

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

describe("checkConnection on a loopback bind", () => {
  test("Host must be loopback (DNS rebinding) → 403", () => {
    expect(
      code(checkConnection(loopback, h({ host: "evil.example:24205", authorization: `Bearer ${TOKEN}` }))),
    ).toBe("403 POLICY_BAD_HOST");
    expect(code(checkConnection(loopback, h({ authorization: `Bearer ${TOKEN}` })))).toBe(
      "403 POLICY_BAD_HOST",
    );
    for (const host of ["localhost:24205", "127.0.0.1:1", "[::1]:24205", "LOCALHOST"]) {
      expect(code(checkConnection(loopback, h({ host, authorization: `Bearer ${TOKEN}` })))).toBe("ok");
    }
  });

  test("non-browser clients need the token", () => {
    expect(code(checkConnection(loopback, h({ host: "127.0.0.1:24205" })))).toBe("401 POLICY_TOKEN_REQUIRED");
    expect(code(checkConnection(loopback, h({ host: "127.0.0.1", authorization: "Bearer nope" })))).toBe(
      "401 POLICY_BAD_TOKEN",
    );
    const ok = checkConnection(loopback, h({ host: "127.0.0.1", authorization: `Bearer ${TOKEN}` }));
    expect(ok).toEqual({ ok: true, authenticated: true });
  });

  test("token through the subprotocol is echoed back", () => {
    const d = checkConnection(
      loopback,
      h({ host: "127.0.0.1", "sec-websocket-protocol": `dispatch.token.${TOKEN}` }),
    );
    expect(d).toEqual({ ok: true, authenticated: true, subprotocol: `dispatch.token.${TOKEN}` });
  });

  test("allow-listed browser origins connect without a token (compat)", () => {
    for (const origin of [
      "http://localhost:24204",
      "https://localhost:24204",
      "http://127.0.0.1:24204",
      "https://127.0.0.1:24204",
      "http://127.0.0.1:24203",
      "HTTP://LOCALHOST:24204/",
    ]) {
      const d = checkConnection(loopback, h({ host: "localhost:24205", origin }));
      expect(d.ok).toBe(true);
      if (d.ok) {
        expect(d.authenticated).toBe(false);
        expect(d.origin).toBe(origin);
      }
    }
  });

  test("other origins are refused even with the token", () => {
    const d = checkConnection(
      loopback,
      h({ host: "localhost:24205", origin: "http://evil.example", authorization: `Bearer ${TOKEN}` }),
    );
    expect(code(d)).toBe("403 POLICY_BAD_ORIGIN");
    expect(code(checkConnection(loopback, h({ host: "localhost", origin: "null" })))).toBe(
      "403 POLICY_BAD_ORIGIN",
    );
  });

  test("a wrong token from an allowed origin is refused", () => {
    const d = checkConnection(
      loopback,
      h({
        host: "localhost",
        origin: "http://localhost:24204",
        "sec-websocket-protocol": "dispatch.token.wrong",
      }),
    );
    expect(code(d)).toBe("401 POLICY_BAD_TOKEN");
  });

  test("configured origins are allowed", () => {
    const p = createConnectionPolicy({
      bindHost: "127.0.0.1",
      token: TOKEN,
      allowedOrigins: ["tauri://localhost"],
    });
    expect(code(checkConnection(p, h({ host: "localhost", origin: "tauri://localhost" })))).toBe("ok");
  });

  test("requireTokenForBrowsers", () => {
    const p = createConnectionPolicy({ bindHost: "127.0.0.1", token: TOKEN, requireTokenForBrowsers: true });
    expect(code(checkConnection(p, h({ host: "localhost", origin: "http://localhost:24204" })))).toBe(
      "401 POLICY_TOKEN_REQUIRED",
    );
    expect(
      code(
        checkConnection(
          p,
          h({
            host: "localhost",
            origin: "http://localhost:24204",
            "sec-websocket-protocol": `dispatch.token.${TOKEN}`,
          }),
        ),
      ),
    ).toBe("ok");
  });
});

describe("checkConnection on a non-loopback bind", () => {
  const lan = createConnectionPolicy({ bindHost: "0.0.0.0", token: TOKEN, allowedHosts: ["dev.box"] });

  test("the token becomes mandatory for browsers too", () => {
    expect(lan.requireTokenForBrowsers).toBe(true);
    expect(code(checkConnection(lan, h({ host: "dev.box:24205", origin: "http://localhost:24204" })))).toBe(
      "401 POLICY_TOKEN_REQUIRED",
    );
  });

  test("configured host names pass, others do not", () => {
    expect(code(checkConnection(lan, h({ host: "dev.box:24205", authorization: `Bearer ${TOKEN}` })))).toBe(
      "ok",
    );
    expect(code(checkConnection(lan, h({ host: "other.box", authorization: `Bearer ${TOKEN}` })))).toBe(
      "403 POLICY_BAD_HOST",
    );
  });

  test("a specific bind address is accepted as a host name", () => {
    const p = createConnectionPolicy({ bindHost: "192.168.1.5", token: TOKEN });
    expect(code(checkConnection(p, h({ host: "192.168.1.5:24205", authorization: `Bearer ${TOKEN}` })))).toBe(
      "ok",
    );
  });

  test("configured hosts do not widen a loopback bind", () => {
    const p = createConnectionPolicy({ bindHost: "127.0.0.1", token: TOKEN, allowedHosts: ["dev.box"] });
    expect(code(checkConnection(p, h({ host: "dev.box", authorization: `Bearer ${TOKEN}` })))).toBe(
      "403 POLICY_BAD_HOST",
    );
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
