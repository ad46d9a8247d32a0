import { expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processKey } from "@dispatch/discovery";
import {
  acquireInstanceLock,
  cmdlineLooksLikeDaemon,
  type DaemonInfo,
  readDaemonInfo,
  removeDaemonInfo,
  writeDaemonInfo,
} from "./instance";
import { withUnrelatedProcess } from "./test-support";

async function folder() {
  const home = await mkdtemp(join(tmpdir(), "dispatch-inst-"));
  return { home, lock: join(home, "daemon.lock"), daemonJson: join(home, "daemon.json") };
}

const info = (pid: number): DaemonInfo => ({
  pid,
  version: "0.1.0",
  httpPort: 1234,
  wsPort: 5678,
  host: "127.0.0.1",
  token: "t",
  startedAt: new Date().toISOString(),
});

test("daemon.json is written with mode 0600 and removed only by its owner", async () => {
  const p = await folder();
  writeDaemonInfo(p.daemonJson, info(process.pid));
  expect(statSync(p.daemonJson).mode & 0o777).toBe(0o600);
  expect(readDaemonInfo(p.daemonJson)?.pid).toBe(process.pid);
  removeDaemonInfo(p.daemonJson, process.pid + 1);
  expect(existsSync(p.daemonJson)).toBe(true);
  removeDaemonInfo(p.daemonJson, process.pid);
  expect(existsSync(p.daemonJson)).toBe(false);
});

test("one holder per folder; release frees it", async () => {
  const p = await folder();
  const first = acquireInstanceLock(p);
  expect(first.ok).toBe(true);
  writeDaemonInfo(p.daemonJson, info(process.pid));
  const second = acquireInstanceLock(p);
  expect(second).toEqual({ ok: false, pid: process.pid, httpPort: 1234, wsPort: 5678 });
  if (first.ok) first.release();
  expect(existsSync(p.lock)).toBe(false);
  const third = acquireInstanceLock(p);
  expect(third.ok).toBe(true);
  if (third.ok) third.release();
});

test("a lock held by a live process refuses", async () => {
  const p = await folder();
  writeFileSync(p.lock, "4242\n");
  expect(acquireInstanceLock(p, (pid) => pid === 4242)).toEqual({ ok: false, pid: 4242 });
});

test("a stale lock or daemon.json of a dead pid is replaced", async () => {
  const p = await folder();
  writeFileSync(p.lock, "4242\n");
  writeDaemonInfo(p.daemonJson, info(4242));
  const r = acquireInstanceLock(p, () => false);
  expect(r.ok).toBe(true);
  if (r.ok) {
    expect(r.replacedStale).toBe(4242);
    expect(readFileSync(p.lock, "utf8").split("\n")[0]).toBe(String(process.pid));
    r.release();
  }
});

test("a daemon.json naming a live pid refuses even without a lock", async () => {
  const p = await folder();
  writeDaemonInfo(p.daemonJson, info(4242));
  expect(acquireInstanceLock(p, (pid) => pid === 4242)).toEqual({
    ok: false,
    pid: 4242,
    httpPort: 1234,
    wsPort: 5678,
  });
  expect(existsSync(p.lock)).toBe(false);
});

test.if(process.platform === "linux")(
  "a lock or daemon.json whose live pid is another process now (reused after a crash or reboot) is stale",
  async () => {
    const p = await folder();
    await withUnrelatedProcess(async (unrelated) => {
      writeFileSync(p.lock, `${unrelated.pid}\nboot-before/12345\n`);
      writeDaemonInfo(p.daemonJson, { ...info(unrelated.pid), processKey: "boot-before/12345" });
      const r = acquireInstanceLock(p);
      expect(r).toMatchObject({ ok: true, replacedStale: unrelated.pid });
      if (r.ok) r.release();
      // The same pid with its real key is a live holder.
      writeDaemonInfo(p.daemonJson, {
        ...info(unrelated.pid),
        processKey: processKey(unrelated.pid) as string,
      });
      expect(acquireInstanceLock(p)).toEqual({ ok: false, pid: unrelated.pid, httpPort: 1234, wsPort: 5678 });
    });
  },
);

test.if(process.platform === "linux")(
  "a daemon.json or lock naming a live pid without a process key counts only if that pid looks like a daemon",
  async () => {
    const p = await folder();
    await withUnrelatedProcess(async (unrelated) => {
      writeDaemonInfo(p.daemonJson, info(unrelated.pid));
      const r = acquireInstanceLock(p);
      expect(r).toMatchObject({ ok: true, replacedStale: unrelated.pid });
      if (r.ok) r.release();
      writeFileSync(p.lock, `${unrelated.pid}\n`);
      const again = acquireInstanceLock(p);
      expect(again).toMatchObject({ ok: true, replacedStale: unrelated.pid });
      if (again.ok) again.release();
    });
    expect(cmdlineLooksLikeDaemon("/usr/bin/bun\0/home/u/dispatch/apps/daemon/src/main.ts\0")).toBe(true);
    expect(cmdlineLooksLikeDaemon("/usr/local/bin/dispatch\0serve\0")).toBe(true);
    expect(cmdlineLooksLikeDaemon("sleep\x0030\0")).toBe(false);
  },
);

test("the lock names this process and its key", async () => {
  const p = await folder();
  const r = acquireInstanceLock(p);
  expect(readFileSync(p.lock, "utf8")).toBe(`${process.pid}\n${processKey(process.pid) ?? ""}\n`);
  if (r.ok) r.release();
});
