/** `dispatch share` against a real daemon: create (url, --json), list, revoke; bad input is a usage error. */
import { expect, setDefaultTimeout, test } from "bun:test";
import { daemonForFile, cli as runCli } from "./cli.test-support";
import { parseExpires } from "./commands/share";

setDefaultTimeout(40_000);
const file = daemonForFile();
const run = (args: string[]) => runCli(file.home, args, { env: { NO_COLOR: "1" } });

test("share prints a viewer URL that works; --list shows it with its label; --revoke ends it", async () => {
  const started = await run(["--json", "share me"]);
  expect(started.code).toBe(0);
  const id = (JSON.parse(started.stdout.trim().split("\n").at(-1) as string) as { conversationId: string })
    .conversationId;

  const plain = await run(["share", id.slice(0, 8), "--expires", "2h", "--label", "for Ana"]);
  expect(plain.code).toBe(0);
  const url = plain.stdout.trim();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  expect(plain.stderr).toContain("dispatch share --revoke");
  const secret = url.split("#")[1] as string;
  const base = url.split("/s/")[0] as string;
  const history = await fetch(`${base}/conversations/${id}`, {
    headers: { authorization: `Share ${secret}` },
  });
  expect(history.status).toBe(200);
  const page = await fetch(url.split("#")[0] as string);
  expect(await page.text()).toContain("Shared conversation");

  const json = await run(["share", id, "--json"]);
  const created = JSON.parse(json.stdout) as {
    conversationId: string;
    shareId: string;
    secret: string;
    expiresAt: number;
  };
  expect(created.conversationId).toBe(id);
  expect(created.expiresAt - Date.now()).toBeGreaterThan(23 * 3600_000);

  const list = await run(["share", "--list", "--json"]);
  expect(list.code).toBe(0);
  const shares = (
    JSON.parse(list.stdout) as { shares: { shareId: string; label?: string; conversationId: string }[] }
  ).shares;
  expect(shares.map((s) => s.shareId)).toContain(created.shareId);
  expect(shares.find((s) => s.label === "for Ana")?.conversationId).toBe(id);
  expect(list.stdout).not.toContain(created.secret);
  const human = await run(["share", "--list", id.slice(0, 8)]);
  expect(human.stdout).toContain("for Ana");
  expect(human.stdout).toContain("0 viewers");

  const revoked = await run(["share", "--revoke", created.shareId]);
  expect(revoked.code).toBe(0);
  expect(revoked.stdout).toContain(`revoked share ${created.shareId}`);
  const after = await fetch(`${base}/conversations/${id}`, {
    headers: { authorization: `Share ${created.secret}` },
  });
  expect(after.status).toBe(401);
  const again = await run(["share", "--list", id]);
  expect(again.stdout).not.toContain(created.shareId);
});

test("bad input: clear usage errors and daemon refusals", async () => {
  const none = await run(["share"]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("share needs a conversation id");
  const bad = await run(["share", "abc", "--expires", "soon"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--expires must be a duration like 30m, 2h or 7d");
  const long = await run(["share", "abc", "--expires", "31d"]);
  expect(long.stderr).toContain("at most 30d");
  const unknown = await run(["share", "--revoke", "no-such-share"]);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain("no-such-share");
});

test("parseExpires", () => {
  expect(parseExpires("90")).toBe(90);
  expect(parseExpires("30m")).toBe(1800);
  expect(parseExpires("2h")).toBe(7200);
  expect(parseExpires("7D")).toBe(7 * 86400);
  expect(() => parseExpires("0m")).toThrow();
  expect(() => parseExpires("-1h")).toThrow();
});
