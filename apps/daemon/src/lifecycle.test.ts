/**
 * End to end: the daemon's process lifecycle. Single instance per data folder, stale lock recovery,
 * bad config at startup, and SIGTERM in the middle of a turn followed by a restart.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentEvent } from "@dispatch/protocol/types";
import { withTimeout } from "@dispatch/testkit";
import {
  cleanEnv,
  type DaemonProcess,
  MAIN,
  ndjson,
  type RunningTestDaemon,
  reap,
  spawnDaemon,
  spawnOnTerminal,
  startDaemon,
  type TerminalProcess,
  tempHome,
  withUnrelatedProcess,
  writeConfig,
  writeStaleDaemonFiles,
} from "./test-support";

// Daemons boot as subprocesses; a loaded machine needs more than the default 5 s.
setDefaultTimeout(30_000);

const started: DaemonProcess[] = [];
const onTerminals: TerminalProcess[] = [];
afterAll(() => {
  reap(...started);
  for (const t of onTerminals) t.kill();
});

async function start(home: string, env: Record<string, string> = {}): Promise<RunningTestDaemon> {
  const d = await startDaemon(home, env);
  started.push(d);
  return d;
}

/** Runs a daemon that is expected to refuse to start; returns its exit code and stderr. */
async function refused(home: string, env: Record<string, string> = {}) {
  const d = spawnDaemon(home, env);
  started.push(d);
  const code = await withTimeout(d.exited, 20_000, "the refused daemon to exit");
  await withTimeout(d.stderr.ended, 5_000, "the refused daemon's stderr to end");
  return { code, stderr: d.stderr.text };
}

async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"]);
  await p.exited;
  return p.pid;
}

describe("single instance", () => {
  test("a second daemon on the same data folder names the running one and exits non-zero", async () => {
    const home = await tempHome();
    const first = await start(home);
    const second = await refused(home);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(
      `dispatch daemon already running (pid ${first.info.pid}, http :${first.info.httpPort}, ws :${first.info.wsPort})`,
    );
    // The refused start left the running daemon's files alone.
    expect(JSON.parse(readFileSync(join(home, "daemon.json"), "utf8")).pid).toBe(first.info.pid);
    expect(await first.stop()).toBe(0);
  });

  test("a stale daemon.json and lock of a dead pid are replaced", async () => {
    const home = await tempHome();
    await writeStaleDaemonFiles(home, await deadPid());
    const d = await start(home);
    expect(d.info.pid).toBe(d.proc.pid as number);
    expect(d.info.token).not.toBe("old");
    expect(readFileSync(join(home, "daemon.lock"), "utf8").split("\n")[0]).toBe(String(d.proc.pid));
    expect((await d.api("/health")).status).toBe(200);
    expect(await d.stop()).toBe(0);
  });
});

describe("reused pids", () => {
  test.if(process.platform === "linux")(
    "a lock and daemon.json whose pid now belongs to an unrelated live process are replaced",
    async () => {
      const home = await tempHome();
      // As after a power loss: the files name a pid that another process has by now.
      await withUnrelatedProcess(async (unrelated) => {
        await writeStaleDaemonFiles(home, unrelated.pid, "an-earlier-boot/777");
        const d = await start(home);
        expect(d.info.pid).toBe(d.proc.pid as number);
        expect(d.info.processKey).toBeDefined();
        expect(unrelated.exitCode).toBeNull();
        expect(await d.stop()).toBe(0);
      });
    },
  );
});

describe("bad configuration", () => {
  test("an unknown key is reported with the file and key path; exit 2", async () => {
    const home = await tempHome();
    const file = await writeConfig(home, `[http]\nport = 0\ncolour = "red"\n`);
    const r = await refused(home);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: http.colour: unknown key`);
  });

  test("a bad value is reported with the file, key path and what was expected; exit 2", async () => {
    const home = await tempHome();
    const file = await writeConfig(home, `[ws]\nport = "twelve"\n`);
    const r = await refused(home);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: ws.port: expected integer 0..65535`);
  });

  test("a bad environment value names the variable; DISPATCH_CONFIG names the file", async () => {
    const home = await tempHome();
    const env = await refused(home, { DISPATCH_WS_PORT: "nope" });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("environment: DISPATCH_WS_PORT: expected integer 0..65535");
    const other = join(home, "elsewhere.toml");
    writeFileSync(other, `[log]\nlevel = "loud"\n`);
    const named = await refused(home, { DISPATCH_CONFIG: other });
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(`${other}: log.level: expected one of debug, info, warn, error`);
  });
});

describe("boot failure", () => {
  test("an extension that cannot start is reported with its reason; without a transport the daemon exits 1", async () => {
    const home = await tempHome();
    // A directory is not a database file: the store fails, and everything that needs it is skipped.
    await writeConfig(home, `[conversation-store]\npath = "${home}"\n`);
    const r = await refused(home);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("required extensions are disabled");
    expect(r.stderr).toMatch(/conversation-store: .+/);
    expect(r.stderr).toContain("transport-http:");
    const log = readFileSync(join(home, "logs", "daemon.log"), "utf8");
    const summary = log
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; disabled?: string[] })
      .find((r) => r.msg === "disabled extensions");
    expect(summary?.disabled?.[0]).toStartWith("conversation-store: ");
    expect(existsSync(join(home, "daemon.json"))).toBe(false);
    expect(existsSync(join(home, "daemon.lock"))).toBe(false);
  });
});

describe("SIGTERM during a turn", () => {
  test("exits 0 promptly; after a restart the history is intact and the conversation idle and continuable", async () => {
    const home = await tempHome();
    const d = await start(home);
    const res = await d.api("/chat", {
      method: "POST",
      body: JSON.stringify({ message: "/slow 100\n/long 400\nsurvive the restart" }),
    });
    const conversationId = res.headers.get("x-conversation-id") as string;
    const events = ndjson(res);
    let deltas = 0;
    await withTimeout(
      (async () => {
        for (;;) {
          const next = await events.next();
          if (next.done) throw new Error("stream ended early");
          if (next.value.type === "text-delta" && ++deltas === 3) return;
        }
      })(),
      15_000,
      "three text deltas",
    );

    expect(await d.stop()).toBe(0);
    expect(d.stderr.text).toContain("shutting down");

    const again = await start(home);
    const status = await (await again.api(`/conversations/${conversationId}/status`)).json();
    expect(status).toEqual({ conversationId, isActive: false, status: "idle" });
    const before = (await (await again.api(`/conversations/${conversationId}`)).json()) as {
      chunks: { role: string; chunk: { type: string; text?: string } }[];
      latestSeq: number;
    };
    expect(before.chunks[0]).toMatchObject({
      role: "user",
      chunk: { text: "/slow 100\n/long 400\nsurvive the restart" },
    });
    const partial = before.chunks
      .filter((c) => c.role === "assistant" && c.chunk.type === "text")
      .map((c) => c.chunk.text)
      .join("");
    expect(partial).toContain("Echo");

    const next = await again.api("/chat", {
      method: "POST",
      body: JSON.stringify({ conversationId, message: "and go on" }),
    });
    expect(next.status).toBe(200);
    const seen: AgentEvent[] = [];
    await withTimeout(
      (async () => {
        for await (const e of ndjson(next)) seen.push(e);
      })(),
      15_000,
      "the continued turn's stream",
    );
    expect(seen.at(-1)?.type).toBe("turn-sealed");
    const after = (await (
      await again.api(`/conversations/${conversationId}?sinceSeq=${before.latestSeq}`)
    ).json()) as {
      chunks: { role: string; chunk: { text?: string } }[];
    };
    expect(after.chunks[0]).toMatchObject({ role: "user", chunk: { text: "and go on" } });
    expect(await again.stop()).toBe(0);
  });
});

describe("on a terminal", () => {
  test("logs are coloured human-readable lines; Ctrl-C stops the daemon cleanly with exit 0", async () => {
    const home = await tempHome();
    const d = spawnOnTerminal(["bun", MAIN], {
      ...cleanEnv(),
      DISPATCH_HOME: home,
      DISPATCH_WS_PORT: "0",
      DISPATCH_HTTP_PORT: "0",
    });
    onTerminals.push(d);
    await d.waitFor(" ready (pid ");
    // formatHuman on a TTY: dim time, coloured padded level, then the message.
    const ESC = "\x1b";
    const line = new RegExp(
      `${ESC}\\[90m\\d\\d:\\d\\d:\\d\\d${ESC}\\[39m ${ESC}\\[36mINFO ${ESC}\\[39m starting`,
    );
    expect(d.output).toMatch(line);
    expect(existsSync(join(home, "daemon.json"))).toBe(true);
    d.type("\x03");
    expect(await d.exited()).toBe(0);
    expect(d.output).toContain("signal=SIGINT");
    expect(existsSync(join(home, "daemon.json"))).toBe(false);
    // The database was closed: SQLite folds the write-ahead log back in and removes it.
    expect(existsSync(join(home, "dispatch.db"))).toBe(true);
    expect(existsSync(join(home, "dispatch.db-wal"))).toBe(false);
  });
});
