import { describe, expect, test } from "bun:test";
import { pairingHost } from "./pairing";
import { rawPathname } from "./server";
import { cacheControl, staticPath } from "./static";

describe("staticPath", () => {
  test("plain paths become relative paths", () => {
    expect(staticPath("/")).toEqual({ ok: true, rel: "" });
    expect(staticPath("/assets/app.js")).toEqual({ ok: true, rel: "assets/app.js" });
    expect(staticPath("/a/./b//c")).toEqual({ ok: true, rel: "a/b/c" });
    expect(staticPath("/caf%C3%A9.txt")).toEqual({ ok: true, rel: "café.txt" });
  });
  test("tricks are refused with HTTP_INVALID_PATH", () => {
    for (const p of [
      "/../etc/passwd",
      "/a/%2e%2e/b",
      "/a%2fb",
      "/a%2Fb",
      "/a%5cb",
      "/a%00b",
      "/a\\b",
      "/%E0%A4%A",
    ]) {
      const r = staticPath(p);
      expect(r.ok ? "ok" : r.failure.code).toBe("HTTP_INVALID_PATH");
    }
  });
});

test("cacheControl", () => {
  expect(cacheControl("index.html")).toBe("no-cache");
  expect(cacheControl("assets/app-3f9a1c2bde.js")).toBe("public, max-age=31536000, immutable");
  expect(cacheControl("assets/index.BfX2k9Qz1.css")).toBe("public, max-age=31536000, immutable");
  expect(cacheControl("favicon.ico")).toBe("no-cache");
  expect(cacheControl("assets/component-library.js")).toBe("no-cache");
});

test("rawPathname keeps the path as sent", () => {
  expect(rawPathname("http://h:1/a%2fb?x=1")).toBe("/a%2fb");
  expect(rawPathname("http://h:1")).toBe("/");
});

test("pairingHost: the first allowed name, else the bind address, else the request's host", () => {
  expect(pairingHost("0.0.0.0", ["dev.box"], "127.0.0.1")).toBe("dev.box");
  expect(pairingHost("192.168.1.5", [], "127.0.0.1")).toBe("192.168.1.5");
  expect(pairingHost("fd00::5", [], "127.0.0.1")).toBe("[fd00::5]");
  expect(pairingHost("0.0.0.0", [], "127.0.0.1")).toBe("127.0.0.1");
});
