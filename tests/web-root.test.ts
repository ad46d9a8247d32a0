/**
 * `[web] root` and pairing against a real daemon bound to a loopback alias (127.0.0.2) with an
 * `allowedHosts` name, the way a LAN bind behaves: static files (MIME, caching, fallback, no listing,
 * nothing outside the folder — raw requests so no client normalizes the path first), the pairing code
 * (once), the session cookie on both ports, a forged or revoked cookie, persistence across a restart,
 * and a missing root as a startup error naming the key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type RunningTestDaemon,
  reap,
  spawnDaemon,
  startDaemon,
  tempHome,
  writeConfig,
} from "@dispatch/daemon/test-support";
import { withTimeout } from "@dispatch/testkit";
import { run } from "./support/run";

const HOST = "myhost.test";
let home: string;
let daemon: RunningTestDaemon;
let origin: string;

/** One raw HTTP/1.1 request: the path goes out exactly as written. */
async function raw(port: number, requestLine: string, headers: Record<string, string> = {}): Promise<string> {
  const lines = [requestLine, `Host: ${HOST}:${port}`, "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  let out = "";
  const done = new Promise<string>((resolve) => {
    Bun.connect({
      hostname: "127.0.0.2",
      port,
      socket: {
        open: (s) => {
          s.write(`${lines.join("\r\n")}\r\n\r\n`);
        },
        data: (_s, d) => {
          out += d.toString();
        },
        close: () => resolve(out),
        error: () => resolve(out),
      },
    });
  });
  return withTimeout(done, 10_000, `raw ${requestLine}`);
}
const statusOf = (response: string) => Number(response.split(" ")[1]);

/** fetch against the alias with a Host the daemon accepts. */
function get(path: string, headers: Record<string, string> = {}, port = daemon.info.httpPort) {
  return fetch(`http://127.0.0.2:${port}${path}`, {
    headers: { host: `${HOST}:${port}`, ...headers },
    redirect: "manual",
  });
}

async function pair(): Promise<string> {
  const res = await get("/pairings", { authorization: `Bearer ${daemon.token}` });
  expect(res.status).toBe(200); // GET lists; POST below mints
  const made = await fetch(`http://127.0.0.2:${daemon.info.httpPort}/pairings`, {
    method: "POST",
    headers: { host: `${HOST}:${daemon.info.httpPort}`, authorization: `Bearer ${daemon.token}` },
  });
  const { url } = (await made.json()) as { url: string };
  expect(url).toStartWith(`http://${HOST}:${daemon.info.httpPort}/pair?code=`);
  return new URL(url).search;
}

async function redeem(search: string): Promise<Response> {
  return get(`/pair${search}`);
}

describe("[web] root and pairing on a loopback alias", () => {
  beforeAll(async () => {
    home = await tempHome();
    const web = join(home, "web");
    mkdirSync(join(web, "assets"), { recursive: true });
    writeFileSync(join(web, "index.html"), "<!doctype html><title>spa</title>");
    writeFileSync(join(web, "assets", "app-3f9a1c2bde.js"), "export {};");
    writeFileSync(join(web, "assets", "style.css"), "body{}");
    writeFileSync(join(home, "secret.txt"), "outside");
    symlinkSync(join(home, "secret.txt"), join(web, "leak.txt"));
    await writeConfig(home, `host = "127.0.0.2"\nallowedHosts = ["${HOST}"]\n[web]\nroot = "web"\n`);
    daemon = await startDaemon(home);
    origin = `http://${HOST}:${daemon.info.httpPort}`;
  });
  afterAll(async () => {
    await daemon?.stop().catch(() => reap(daemon));
  });

  test("static files: MIME types, caching, SPA fallback, API routes first", async () => {
    const index = await get("/");
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toContain("text/html");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(await index.text()).toContain("spa");
    const hashed = await get("/assets/app-3f9a1c2bde.js");
    expect(hashed.headers.get("content-type")).toContain("javascript");
    expect(hashed.headers.get("cache-control")).toContain("immutable");
    const css = await get("/assets/style.css");
    expect(css.headers.get("content-type")).toContain("text/css");
    const etag = css.headers.get("etag") as string;
    expect((await get("/assets/style.css", { "if-none-match": etag })).status).toBe(304);
    expect((await get("/some/client/route", { accept: "text/html" })).status).toBe(200);
    expect((await get("/missing.js")).status).toBe(404);
    // API routes win over the folder, and still need credentials.
    expect((await get("/conversations")).status).toBe(401);
    expect((await get("/health", { authorization: `Bearer ${daemon.token}` })).status).toBe(200);
  });

  test("nothing outside the folder, no listing, path tricks refused", async () => {
    const port = daemon.info.httpPort;
    for (const path of ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"]) {
      const r = await raw(port, `GET ${path} HTTP/1.1`);
      expect(r).not.toContain("outside");
      expect([400, 404]).toContain(statusOf(r));
    }
    for (const path of ["/assets%2f..%2f..%2fsecret.txt", "/a%00b", "/a%5c..%5csecret.txt"])
      expect(statusOf(await raw(port, `GET ${path} HTTP/1.1`))).toBe(400);
    expect((await get("/leak.txt")).status).toBe(404); // a symlink out of the folder
    expect((await get("/assets/")).status).toBe(404); // a folder is never listed
  });

  test("odd requests get a clear 4xx, not 500", async () => {
    const port = daemon.info.httpPort;
    expect(statusOf(await raw(port, `CONNECT 127.0.0.2:${port} HTTP/1.1`))).toBe(400);
    const ws = daemon.info.wsPort;
    expect(statusOf(await raw(ws, `CONNECT 127.0.0.2:${ws} HTTP/1.1`))).toBe(426);
    const badHost = await fetch(`http://127.0.0.2:${port}/health`, {
      headers: { host: "localhost:evil.com" },
    });
    expect(badHost.status).toBe(403);
    const wsBadHost = await fetch(`http://127.0.0.2:${daemon.info.wsPort}/`, {
      headers: { host: "localhost:evil.com", upgrade: "websocket" },
    });
    expect(wsBadHost.status).toBe(403);
  });

  test("before pairing a browser origin is refused with a message that says how to pair", async () => {
    const r = await get("/conversations", { origin });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toContain("dispatch pair");
  });

  test("pairing: the code works once, the cookie admits both ports, a forged one does not", async () => {
    const search = await pair();
    const first = await redeem(search);
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/");
    const setCookie = first.headers.get("set-cookie") as string;
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    const cookie = setCookie.split(";")[0] as string;
    const again = await redeem(search);
    expect(again.status).toBe(410);
    expect(((await again.json()) as { code: string }).code).toBe("PAIR_CODE_USED");
    expect((await redeem("?code=nonsense")).status).toBe(400);

    expect((await get("/conversations", { origin, cookie })).status).toBe(200);
    // The WS port (another port, same host): the upgrade is admitted with the cookie.
    const ws = new WebSocket(`ws://127.0.0.2:${daemon.info.wsPort}`, {
      headers: { host: `${HOST}:${daemon.info.wsPort}`, origin, cookie },
    } as unknown as string[]);
    const first2 = await withTimeout(
      new Promise<string>((resolve) => {
        ws.onmessage = (e) => resolve(JSON.parse(String(e.data)).type);
        ws.onerror = () => resolve("error");
      }),
      10_000,
      "the catalog",
    );
    ws.close();
    expect(first2).toBe("catalog");
    // The cookie does not replace the Origin check, nor the token for non-browser clients.
    expect((await get("/conversations", { origin: "http://evil.test", cookie })).status).toBe(403);
    expect((await get("/conversations", { cookie })).status).toBe(401);
    const forged = await get("/conversations", { origin, cookie: `${cookie.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { code: string }).code).toBe("POLICY_BAD_SESSION");
    // Only the token may mint codes or list sessions.
    expect(
      (
        await fetch(`http://127.0.0.2:${daemon.info.httpPort}/pairings`, {
          method: "POST",
          headers: { host: `${HOST}:${daemon.info.httpPort}`, origin, cookie },
        })
      ).status,
    ).toBe(403);
  });

  test("sessions survive a restart and can be revoked", async () => {
    const first = await redeem(await pair());
    const cookie = (first.headers.get("set-cookie") as string).split(";")[0] as string;
    await daemon.stop();
    daemon = await startDaemon(home);
    origin = `http://${HOST}:${daemon.info.httpPort}`;
    expect((await get("/conversations", { origin, cookie })).status).toBe(200);
    const list = (await (await get("/pairings", { authorization: `Bearer ${daemon.token}` })).json()) as {
      sessions: { id: string }[];
    };
    const id = cookie.split("=")[1]?.split(".")[0] as string;
    expect(list.sessions.map((s) => s.id)).toContain(id);
    const revoked = await fetch(`http://127.0.0.2:${daemon.info.httpPort}/pairings/${id}`, {
      method: "DELETE",
      headers: { host: `${HOST}:${daemon.info.httpPort}`, authorization: `Bearer ${daemon.token}` },
    });
    expect(revoked.status).toBe(200);
    const after = await get("/conversations", { origin, cookie });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe("POLICY_BAD_SESSION");
  });

  test("dispatch pair prints a URL that pairs once; --list and --revoke manage sessions", async () => {
    const cli = (...args: string[]) =>
      run(["bun", join(import.meta.dir, "../apps/cli/src/main.ts"), "pair", ...args], {
        ...process.env,
        DISPATCH_HOME: home,
      });
    const made = await cli();
    expect(made.code).toBe(0);
    const url = /http:\/\/\S+\/pair\?code=\S+/.exec(made.out)?.[0] as string;
    expect(url).toStartWith(`http://${HOST}:${daemon.info.httpPort}/pair?code=`);
    const first = await redeem(new URL(url).search);
    expect(first.status).toBe(303);
    const id = (first.headers.get("set-cookie") as string).split("=")[1]?.split(".")[0] as string;
    const listed = await cli("--list");
    expect(listed.out).toContain(id);
    expect((await cli("--revoke", id)).out).toContain(`revoked browser session ${id}`);
    expect((await cli("--list")).out).not.toContain(id);
    const unknown = await cli("--revoke", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("no browser session nope");
    const other = await cli("--host", "box.lan", "--json");
    expect(JSON.parse(other.out).url).toStartWith(`http://box.lan:${daemon.info.httpPort}/pair?code=`);
    expect((await cli("--list", "--revoke", "x")).code).toBe(2);
  });

  test("a [web] root that does not exist is a startup error naming the key", async () => {
    const other = await tempHome();
    await writeConfig(other, `[web]\nroot = "/nonexistent/dispatch-web"\n`);
    const d = spawnDaemon(other);
    const code = await withTimeout(d.exited, 20_000, "the daemon to refuse to start");
    expect(code).not.toBe(0);
    expect(d.stderr.text).toContain("web.root");
    expect(d.stderr.text).toContain("/nonexistent/dispatch-web");
  });
});
