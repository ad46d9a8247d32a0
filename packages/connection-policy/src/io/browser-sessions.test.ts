import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrowserSessions, PAIRING_CODE_TTL_MS, sessionCookie, sessionSetCookie } from "./browser-sessions";

const dir = mkdtempSync(join(tmpdir(), "sessions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("cookie text", () => {
  test("sessionCookie finds our cookie among others", () => {
    expect(sessionCookie("a=1; dispatch_session=abc.def; b=2")).toBe("abc.def");
    expect(sessionCookie("dispatch_sessionx=1")).toBeUndefined();
    expect(sessionCookie(null)).toBeUndefined();
  });
  test("Set-Cookie is HttpOnly, SameSite=Strict, path /, with a Max-Age", () => {
    expect(sessionSetCookie("id.s", 90_500)).toBe(
      "dispatch_session=id.s; Path=/; HttpOnly; SameSite=Strict; Max-Age=90",
    );
  });
});

describe("BrowserSessions", () => {
  test("a code is single use and expires", () => {
    const c = clock();
    const s = new BrowserSessions({ now: c.now });
    const { code } = s.createPairing();
    expect(code.length).toBeGreaterThanOrEqual(22); // 128 bits, base64url
    const r = s.redeem(code, "ua");
    expect(r.ok).toBe(true);
    expect(s.redeem(code, "ua")).toMatchObject({ ok: false, code: "PAIR_CODE_USED" });
    expect(s.redeem("nope", "ua")).toMatchObject({ ok: false, code: "PAIR_CODE_INVALID" });
    const late = s.createPairing();
    c.advance(PAIRING_CODE_TTL_MS);
    expect(s.redeem(late.code, "ua")).toMatchObject({ ok: false, code: "PAIR_CODE_EXPIRED" });
  });

  test("check: valid, forged, expired, revoked, absent", () => {
    const c = clock();
    const s = new BrowserSessions({ now: c.now, ttlMs: 1000 });
    const r = s.redeem(s.createPairing().code, "ua");
    if (!r.ok) throw new Error("redeem failed");
    const header = `dispatch_session=${r.cookie}`;
    expect(s.check(header)).toBe("valid");
    expect(s.check(`${header}x`)).toBe("invalid");
    expect(s.check("dispatch_session=garbage")).toBe("invalid");
    expect(s.check("other=1")).toBe("none");
    expect(s.list().map((x) => x.id)).toEqual([r.session.id]);
    c.advance(1000);
    expect(s.check(header)).toBe("invalid");
    const r2 = s.redeem(s.createPairing().code, "ua");
    if (!r2.ok) throw new Error("redeem failed");
    expect(s.revoke(r2.session.id)).toBe(true);
    expect(s.revoke(r2.session.id)).toBe(false);
    expect(s.check(`dispatch_session=${r2.cookie}`)).toBe("invalid");
  });

  test("persisted hashed in a 0600 file and loaded again; a damaged file is ignored with a warning", () => {
    const file = join(dir, "browser-sessions.json");
    const a = new BrowserSessions({ file });
    const r = a.redeem(a.createPairing().code, "Chromium");
    if (!r.ok) throw new Error("redeem failed");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(r.cookie.split(".")[1] as string);
    expect(new BrowserSessions({ file }).check(`dispatch_session=${r.cookie}`)).toBe("valid");
    writeFileSync(file, "{not json");
    const warnings: string[] = [];
    const b = new BrowserSessions({ file, warn: (m) => warnings.push(m) });
    expect(b.list()).toEqual([]);
    expect(warnings[0]).toContain("damaged");
  });
});
