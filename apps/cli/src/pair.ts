/**
 * `dispatch pair` — pair a browser (on this or another device) with the running daemon: prints a
 * one-time URL (`http://<host>:<httpPort>/pair?code=…`, single use, valid a few minutes) that sets a
 * session cookie. `--list` shows the paired sessions, `--revoke <id>` ends one. Talks to the daemon's
 * token-only `/pairings` endpoint with the token from daemon.json (so only the daemon's user can pair).
 */
import { parseArgs } from "node:util";
import { currentHome, daemonUrls, findDaemon } from "@dispatch/discovery";
import { type CliIo, EXIT } from "./io";

export const PAIR_HELP = `dispatch pair [--host <name>] | --list | --revoke <id>
Prints a one-time URL that pairs a browser with the daemon (open it within 5 minutes, once). The
browser then keeps a session cookie that admits the web frontend without the token, also over a LAN.
  --host <name>    the host name the browser will use (default: the first allowedHosts name, else the bind address)
  --list           list paired browser sessions
  --revoke <id>    end a session (its browser must pair again)
Global flags: --json, --home <dir>`;

interface PairingInfo {
  id: string;
  createdAt: number;
  expiresAt: number;
  label: string;
}

/** Pure: the browser's User-Agent is untrusted; control characters become "?" (never interpreted). */
export function printable(text: string): string {
  return [...text]
    .map((c) =>
      (c.codePointAt(0) ?? 0) < 0x20 || ((c.codePointAt(0) ?? 0) >= 0x7f && (c.codePointAt(0) ?? 0) <= 0x9f)
        ? "?"
        : c,
    )
    .join("");
}

export async function runPair(argv: string[], io: CliIo): Promise<number> {
  const fail = (message: string, code: number = EXIT.usage) => {
    io.stderr.write(`dispatch pair: ${message}\n`);
    return code;
  };
  let v: { host?: string; list?: boolean; revoke?: string; json?: boolean; home?: string; help?: boolean };
  try {
    v = parseArgs({
      args: argv,
      options: {
        host: { type: "string" },
        list: { type: "boolean" },
        revoke: { type: "string" },
        json: { type: "boolean" },
        home: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (err) {
    return fail((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
  if (v.help) {
    io.stdout.write(`${PAIR_HELP}\n`);
    return EXIT.ok;
  }
  if ([v.list, v.revoke !== undefined, v.host !== undefined].filter(Boolean).length > 1)
    return fail("use one of --host, --list, --revoke");
  const home = v.home ?? currentHome(io.env);
  const info = findDaemon(home);
  if (!info)
    return fail(`no dispatch daemon is running for ${home}; start it with: dispatch serve`, EXIT.unavailable);
  const base = daemonUrls(info).http;
  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${info.token}`, "Content-Type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      return { ok: false as const, message: `cannot reach the daemon at ${base}: ${(err as Error).message}` };
    }
    const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      return { ok: false as const, message: `${String(data.error ?? res.statusText)} (${res.status})` };
    return { ok: true as const, data };
  };
  const print = (s: string) => io.stdout.write(`${s}\n`);

  if (v.list) {
    const r = await call("GET", "/pairings");
    if (!r.ok) return fail(r.message, EXIT.failed);
    const sessions = (r.data.sessions ?? []) as PairingInfo[];
    if (v.json) print(JSON.stringify({ sessions }, null, 2));
    else if (sessions.length === 0) print("no paired browsers");
    else
      for (const s of sessions) {
        const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
        print(`${s.id}  paired ${day(s.createdAt)}  expires ${day(s.expiresAt)}  ${printable(s.label)}`);
      }
    return EXIT.ok;
  }
  if (v.revoke !== undefined) {
    const r = await call("DELETE", `/pairings/${encodeURIComponent(v.revoke)}`);
    if (!r.ok) return fail(r.message, EXIT.failed);
    print(v.json ? JSON.stringify(r.data) : `revoked browser session ${v.revoke}`);
    return EXIT.ok;
  }
  const r = await call("POST", "/pairings", v.host === undefined ? {} : { host: v.host });
  if (!r.ok) return fail(r.message, EXIT.failed);
  if (v.json) print(JSON.stringify(r.data, null, 2));
  else {
    print("Open this URL in the browser to pair (once, within 5 minutes):");
    print(`  ${String(r.data.url)}`);
  }
  return EXIT.ok;
}
