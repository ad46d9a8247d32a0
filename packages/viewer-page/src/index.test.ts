import { describe, expect, test } from "bun:test";
import { viewerAsset, viewerPage } from "./index";

describe("viewer page", () => {
  test("names the WebSocket endpoint and allows exactly it in the CSP", () => {
    const p = viewerPage({ wsUrl: "ws://127.0.0.1:24205" });
    expect(p.html).toContain('<meta name="dispatch-ws" content="ws://127.0.0.1:24205">');
    expect(p.headers["Content-Security-Policy"]).toContain("connect-src 'self' ws://127.0.0.1:24205;");
    expect(p.headers["Content-Security-Policy"]).toContain("script-src 'self'");
    expect(p.headers["Referrer-Policy"]).toBe("no-referrer");
  });

  test("on its own origin (a relay) no endpoint is named", () => {
    const p = viewerPage();
    expect(p.html).not.toContain("dispatch-ws");
    expect(p.headers["Content-Security-Policy"]).toContain("connect-src 'self';");
  });

  test("assets by name only; the script renders text, never HTML", () => {
    expect(viewerAsset("viewer.js")?.headers["Content-Type"]).toContain("javascript");
    expect(viewerAsset("viewer.css")?.headers["Content-Type"]).toContain("css");
    expect(viewerAsset("../index.ts")).toBeUndefined();
    expect(viewerAsset("toString")).toBeUndefined();
    expect(viewerAsset("viewer.js")?.body).not.toContain("innerHTML =");
  });
});
