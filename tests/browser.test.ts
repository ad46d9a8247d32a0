/**
 * A real browser (headless Chromium) against a real daemon: a page on an allow-listed origin drives a
 * conversation over the WebSocket without a token (what the existing frontend does); a page on any
 * other origin can neither open the socket, read the API, nor start a turn with a "simple" no-cors POST.
 * Each page reports what it observed by POSTing to its own (same-origin) server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type RunningTestDaemon,
  reap,
  startDaemon,
  tempHome,
  writeConfig,
} from "@dispatch/daemon/test-support";
import { withTimeout } from "@dispatch/testkit";
import { SPEC_LEVEL1_EVENTS, SPEC_LEVEL1_MESSAGES } from "./conformance/strict-client";
import { CHROMIUM, haveChromium, visit } from "./support/chromium";

if (!haveChromium)
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

type Report = Record<string, unknown>;

/** Serves one page and receives its report at POST /report. */
function pageServer(html: string) {
  let resolveReport: (r: Report) => void = () => {};
  const report = new Promise<Report>((resolve) => {
    resolveReport = resolve;
  });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/report" && req.method === "POST") {
        resolveReport((await req.json()) as Report);
        return new Response("ok");
      }
      if (url.pathname === "/") return new Response(html, { headers: { "content-type": "text/html" } });
      return new Response("not found", { status: 404 });
    },
  });
  return { origin: `http://127.0.0.1:${server.port}`, report, stop: () => server.stop(true) };
}

const script = (body: string) => `<!doctype html><meta charset="utf-8"><script type="module">
const report = (r) => fetch("/report", { method: "POST", body: JSON.stringify(r) });
try { ${body} } catch (e) { report({ crashed: String(e) }); }
</script>`;

let daemon: RunningTestDaemon;
let allowed: ReturnType<typeof pageServer>;
let evil: ReturnType<typeof pageServer>;

describe.skipIf(!haveChromium)("a real browser", () => {
  beforeAll(async () => {
    const home = await tempHome();
    // The allowed page needs the daemon's ports in its script, so it is built after the daemon starts;
    // its origin must be known first: reserve it with a placeholder server.
    allowed = pageServer("");
    await writeConfig(home, `allowedOrigins = ["${allowed.origin}"]\n`);
    daemon = await startDaemon(home);
  });
  afterAll(async () => {
    allowed?.stop();
    evil?.stop();
    await daemon?.stop().catch(() => reap(daemon));
  });

  test("an allow-listed origin chats over the WebSocket without a token", async () => {
    allowed.stop();
    const ws = `ws://127.0.0.1:${daemon.info.wsPort}`;
    const port = Number(new URL(allowed.origin).port);
    const page = script(`
      const sock = new WebSocket(${JSON.stringify(ws)});
      const frames = [];
      sock.onmessage = (e) => {
        const f = JSON.parse(e.data);
        frames.push(f.type === "chat.delta" ? "chat.delta:" + f.event.type : f.type);
        if (f.type === "catalog") sock.send(JSON.stringify({ type: "chat.send", id: "1", model: "local/echo", message: "hi from a browser" }));
        if (f.type === "chat.delta" && f.event.type === "turn-sealed") {
          report({ frames, text: window.text ?? "" });
          sock.close();
        }
        if (f.type === "chat.delta" && f.event.type === "text-delta") window.text = (window.text ?? "") + f.event.delta;
      };
      sock.onerror = () => report({ error: "websocket error", frames });
    `);
    // Re-serve the real page on the same (allow-listed) port.
    let resolveReport: (r: Report) => void = () => {};
    const report = new Promise<Report>((resolve) => {
      resolveReport = resolve;
    });
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/report") {
          resolveReport((await req.json()) as Report);
          return new Response("ok");
        }
        return new Response(page, { headers: { "content-type": "text/html" } });
      },
    });
    const browser = visit(`http://127.0.0.1:${port}/`, await tempHome());
    try {
      const r = await withTimeout(report, 30_000, "the allowed page's report");
      expect(r.error).toBeUndefined();
      expect(r.frames).toContain("catalog");
      expect(r.frames).toContain("ack");
      // No hello: level 1, so only the original types (plus the ack its own id asked for).
      const original = [
        ...SPEC_LEVEL1_MESSAGES,
        ...[...SPEC_LEVEL1_EVENTS].map((t) => `chat.delta:${t}`),
        "ack",
      ];
      expect((r.frames as string[]).filter((t) => !original.includes(t))).toEqual([]);
      expect(r.frames).toContain("chat.delta:text-delta");
      expect(String(r.text)).toContain("hi from a browser");
    } finally {
      await browser.kill();
      server.stop(true);
    }
  });

  test("another origin cannot open the socket, read the API, or start a turn", async () => {
    const ws = `ws://127.0.0.1:${daemon.info.wsPort}`;
    const http = `http://127.0.0.1:${daemon.info.httpPort}`;
    const before = (await (await daemon.api("/conversations?status=active,queued,idle,closed")).json()) as {
      conversations: unknown[];
    };
    evil = pageServer(
      script(`
      const out = {};
      out.ws = await new Promise((resolve) => {
        const s = new WebSocket(${JSON.stringify(ws)});
        s.onopen = () => resolve("opened");
        s.onerror = () => resolve("refused");
      });
      out.read = await fetch(${JSON.stringify(`${http}/conversations`)}).then(() => "read", () => "blocked");
      // A "simple" request needs no preflight: the browser sends it, so the daemon must refuse it itself.
      out.post = await fetch(${JSON.stringify(`${http}/chat`)}, { method: "POST", mode: "no-cors",
        headers: { "content-type": "text/plain" }, body: JSON.stringify({ message: "rm -rf ~" }) })
        .then(() => "sent", () => "blocked");
      report(out);
    `),
    );
    const browser = visit(`${evil.origin}/`, await tempHome());
    try {
      const r = await withTimeout(evil.report, 30_000, "the other origin's report");
      expect(r.ws).toBe("refused");
      expect(r.read).toBe("blocked");
      const after = (await (await daemon.api("/conversations?status=active,queued,idle,closed")).json()) as {
        conversations: unknown[];
      };
      expect(after.conversations.length).toBe(before.conversations.length);
      // And the daemon answers such a request with 403 (what the browser hid from the page).
      const direct = await fetch(`${http}/chat`, {
        method: "POST",
        headers: { origin: evil.origin, "content-type": "text/plain" },
        body: JSON.stringify({ message: "x" }),
      });
      expect(direct.status).toBe(403);
    } finally {
      await browser.kill();
    }
  });
});
