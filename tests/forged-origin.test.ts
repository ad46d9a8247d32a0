/**
 * Issue 13.1 with a real second user: a process of another user on the same machine that forges the
 * frontend's Origin (what any non-browser client can do) is refused with 401 on both ports; the very
 * same client run as the daemon's own user is admitted (the existing frontend keeps working). The
 * peer's owner comes from /proc/net/tcp{,6}. Needs root (to create the user) and useradd + setpriv.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningTestDaemon, reap, startDaemon, tempHome } from "@dispatch/daemon/test-support";
import { run } from "./support/run";

const isRoot = process.getuid?.() === 0;
const tools = ["useradd", "userdel", "setpriv"].filter((t) => Bun.which(t) === null);
const skipReason =
  process.platform !== "linux"
    ? "not Linux"
    : !isRoot
      ? "not root (creating a second user needs root)"
      : tools.length > 0
        ? `missing ${tools.join(", ")}`
        : undefined;
if (skipReason !== undefined) console.warn(`forged-origin tests skipped: ${skipReason}`);

/** The attacker's client: a forged frontend Origin, no token, over HTTP and WebSocket. */
const CLIENT = `
const [http, ws] = process.argv.slice(2);
const origin = "http://localhost:24204";
const res = await fetch(http + "/conversations", { headers: { origin } });
const wsResult = await new Promise((resolve) => {
  const s = new WebSocket(ws, { headers: { origin } });
  s.onmessage = (e) => { resolve(JSON.parse(e.data).type); s.close(); };
  s.onerror = () => resolve("refused");
  s.onclose = (e) => resolve("closed " + e.code);
});
// The refusal's status, as a raw upgrade sees it.
const raw = await fetch(ws.replace("ws:", "http:"), { headers: { origin, upgrade: "websocket", connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } }).then((r) => r.status, () => 0);
console.log(JSON.stringify({ http: res.status, body: await res.text(), ws: wsResult, upgrade: raw }));
`;

const user = `dsp${process.pid}`;
let dir: string;
let daemon: RunningTestDaemon;

async function runClient(
  asUser: boolean,
): Promise<{ http: number; body: string; ws: string; upgrade: number }> {
  const script = join(dir, "client.ts");
  const base = [Bun.which("bun") as string, script, daemon.base, `ws://127.0.0.1:${daemon.info.wsPort}`];
  const cmd = asUser ? ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", ...base] : base;
  const { code, out, err } = await run(cmd, { PATH: process.env.PATH ?? "", HOME: dir }, dir);
  if (code !== 0) throw new Error(`client exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}

describe.skipIf(skipReason !== undefined)("a forged Origin from another user", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "forged-origin-"));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "client.ts"), CLIENT, { mode: 0o644 });
    const add = Bun.spawnSync(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user]);
    if (add.exitCode !== 0) throw new Error(`useradd failed: ${add.stderr.toString()}`);
    daemon = await startDaemon(await tempHome());
  });
  afterAll(async () => {
    await daemon?.stop().catch(() => reap(daemon));
    Bun.spawnSync(["userdel", user]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("another user's process gets 401 on the HTTP API and the WebSocket", async () => {
    const r = await runClient(true);
    expect(r.http).toBe(401);
    expect(r.body).toContain("POLICY_TOKEN_REQUIRED");
    expect(r.ws).not.toBe("catalog");
    expect(r.upgrade).toBe(401);
  });

  test("the same client as the daemon's own user is admitted (the frontend's case)", async () => {
    const r = await runClient(false);
    expect(r.http).toBe(200);
    expect(r.ws).toBe("catalog");
  });
});
