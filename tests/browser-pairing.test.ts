/**
 * Issue 12.5 in a real browser (headless Chromium): the daemon binds a loopback alias (127.0.0.2) with
 * an `allowedHosts` name that Chromium resolves through `--host-resolver-rules`, the way a LAN name
 * works, and serves the page from `[web] root`. One browser session walks through:
 * 1. before pairing, the page's WebSocket is refused;
 * 2. after opening the `dispatch pair` URL, the same page gets the catalog and streams a chat;
 *    replaying the code from the page gets 410;
 * 3. a page of another origin on the same host (so the cookie is sent) is refused;
 * 4. after `--revoke`, the page is refused again.
 * Pages report to a test server on the same host (another port), which answers with the next step.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type RunningTestDaemon,
  reap,
  startDaemon,
  tempHome,
  writeConfig,
} from "@dispatch/daemon/test-support";
import { withTimeout } from "@dispatch/testkit";
import { CHROMIUM, haveChromium, visit } from "./support/chromium";

if (!haveChromium) console.warn(`browser pairing tests skipped: no Chromium at ${CHROMIUM}`);
const HOST = "myhost.test";

type Report = Record<string, unknown> & { cookie?: boolean };
type Command = { next?: string; probe?: string };

/** The page logic shared by both origins: try the socket (and chat), then ask the test what next. */
const pageScript = (ws: string, report: string, chat: boolean) => `
const ask = async (r) => {
  const cmd = await (await fetch(${JSON.stringify(report)}, { method: "POST", body: JSON.stringify(r) })).json();
  if (cmd.probe) return ask({ probe: cmd.probe, status: (await fetch(cmd.probe, { redirect: "manual" })).status });
  if (cmd.next) location.href = cmd.next;
};
const out = { page: location.href };
out.ws = await new Promise((resolve) => {
  const s = new WebSocket(${JSON.stringify(ws)});
  let text = "";
  s.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type === "catalog") {
      if (!${chat}) { s.close(); return resolve("catalog"); }
      s.send(JSON.stringify({ type: "chat.send", model: "local/echo", message: "hello over the LAN" }));
    }
    if (f.type === "chat.delta" && f.event.type === "text-delta") text += f.event.delta;
    if (f.type === "chat.delta" && f.event.type === "turn-sealed") { out.text = text; s.close(); resolve("catalog"); }
  };
  s.onerror = () => resolve("refused");
});
out.http = await fetch("http://${HOST}:" + ${JSON.stringify("HTTP_PORT")} + "/conversations").then((r) => r.status, () => "blocked");
await ask(out);`;

let daemon: RunningTestDaemon;
let home: string;
let reportServer: ReturnType<typeof Bun.serve> | undefined;
let browser: { kill(): Promise<void> } | undefined;

describe.skipIf(!haveChromium)("pairing a browser on a LAN-style name", () => {
  beforeAll(async () => {
    home = await tempHome();
    mkdirSync(join(home, "web"));
    writeFileSync(join(home, "web", "index.html"), "placeholder");
    await writeConfig(home, `host = "127.0.0.2"\nallowedHosts = ["${HOST}"]\n[web]\nroot = "web"\n`);
    daemon = await startDaemon(home);
  });
  afterAll(async () => {
    await browser?.kill();
    reportServer?.stop(true);
    await daemon?.stop().catch(() => reap(daemon));
  });

  test("refused before pairing, chats after, other origin and revoked session refused", async () => {
    const httpPort = daemon.info.httpPort;
    const app = `http://${HOST}:${httpPort}`;
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.2:${httpPort}${path}`, {
        ...init,
        headers: { host: `${HOST}:${httpPort}`, authorization: `Bearer ${daemon.token}` },
      });
    const mint = async () =>
      ((await (await api("/pairings", { method: "POST" })).json()) as { url: string }).url;

    const reports: Report[] = [];
    let pairUrl = "";
    let evilUrl = "";
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Each report gets the next step; the array index is the step.
    const steps: ((r: Report) => Promise<Command>)[] = [
      async () => {
        pairUrl = await mint();
        return { next: pairUrl };
      },
      async () => ({ probe: `/pair${new URL(pairUrl).search}` }),
      async () => ({ next: evilUrl }),
      async () => {
        const list = (await (await api("/pairings")).json()) as { sessions: { id: string }[] };
        for (const s of list.sessions) await api(`/pairings/${s.id}`, { method: "DELETE" });
        return { next: `${app}/` };
      },
      async () => {
        finish();
        return {};
      },
    ];
    reportServer = Bun.serve({
      hostname: "127.0.0.2",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        const cors = { "access-control-allow-origin": "*", "content-type": "application/json" };
        if (url.pathname === "/report" && req.method === "POST") {
          const r = (await req.json()) as Report;
          r.cookie = (req.headers.get("cookie") ?? "").includes("dispatch_session=");
          reports.push(r);
          const step = steps[reports.length - 1];
          return new Response(JSON.stringify(step ? await step(r) : {}), { headers: cors });
        }
        const evil = `<!doctype html><script type="module">${pageScript(`ws://${HOST}:${daemon.info.wsPort}`, `/report`, false).replace('"HTTP_PORT"', String(httpPort))}</script>`;
        return new Response(evil, { headers: { "content-type": "text/html" } });
      },
    });
    const report = `http://${HOST}:${reportServer.port}/report`;
    evilUrl = `http://${HOST}:${reportServer.port}/evil`;
    writeFileSync(
      join(home, "web", "index.html"),
      `<!doctype html><meta charset="utf-8"><script type="module">${pageScript(`ws://${HOST}:${daemon.info.wsPort}`, report, true).replace('"HTTP_PORT"', String(httpPort))}</script>`,
    );

    browser = visit(`${app}/`, await tempHome(), [`--host-resolver-rules=MAP ${HOST} 127.0.0.2`]);
    await withTimeout(finished, 60_000, `the browser's reports (got ${reports.length})`).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(reports)}`);
    });

    const [before, paired, replay, evil, revoked] = reports as [Report, Report, Report, Report, Report];
    // 1. The page from [web] root, not paired yet.
    expect(before.ws).toBe("refused");
    expect(before.http).toBe(401);
    // 2. After opening the pair URL (redirected back to /): catalog, a streamed chat, the HTTP API.
    expect(paired.page).toBe(`${app}/`);
    expect(paired.ws).toBe("catalog");
    expect(String(paired.text)).toContain("hello over the LAN");
    expect(paired.http).toBe(200);
    // The code worked once.
    expect(replay.status).toBe(410);
    // 3. Another origin on the same host: the cookie is sent, and refused all the same.
    expect(evil.cookie).toBe(true);
    expect(evil.ws).toBe("refused");
    expect(evil.http).toBe("blocked");
    // 4. Revoked.
    expect(revoked.ws).toBe("refused");
    expect(revoked.http).toBe(401);
  }, 90_000);
});
