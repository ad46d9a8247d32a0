import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import {
  connectHost,
  daemonUrls,
  findDaemon,
  processKey,
  readDaemonInfo,
  resolveHome,
  startTicksFromStat,
} from "./discovery";

describe("resolveHome", () => {
  const homedir = "/home/ada";
  test("DISPATCH_HOME wins", () => {
    expect(resolveHome({ env: { DISPATCH_HOME: "/data/d" }, platform: "linux", homedir })).toBe("/data/d");
  });
  test("XDG_STATE_HOME when absolute, else ~/.local/state", () => {
    expect(resolveHome({ env: { XDG_STATE_HOME: "/s" }, platform: "linux", homedir })).toBe("/s/dispatch");
    expect(resolveHome({ env: { XDG_STATE_HOME: "rel" }, platform: "linux", homedir })).toBe(
      "/home/ada/.local/state/dispatch",
    );
  });
  test("macOS and Windows folders", () => {
    expect(resolveHome({ env: {}, platform: "darwin", homedir })).toBe(
      "/home/ada/Library/Application Support/dispatch",
    );
    expect(resolveHome({ env: { LOCALAPPDATA: "C:/L" }, platform: "win32", homedir })).toBe(
      join("C:/L", "dispatch"),
    );
  });
});

describe("daemon.json", () => {
  const dir = mkdtempSync(join(os.tmpdir(), "dispatch-discovery-"));
  const info = {
    pid: process.pid,
    version: "0.1.0",
    httpPort: 1234,
    wsPort: 1235,
    host: "127.0.0.1",
    token: "t0k",
    startedAt: new Date(0).toISOString(),
  };
  test("reads a valid file and finds a live daemon", () => {
    writeFileSync(join(dir, "daemon.json"), JSON.stringify(info));
    expect(readDaemonInfo(join(dir, "daemon.json"))).toEqual(info);
    expect(findDaemon(dir)).toEqual(info);
  });
  test("a dead pid is not a running daemon", () => {
    writeFileSync(join(dir, "daemon.json"), JSON.stringify({ ...info, pid: 2 ** 22 + 17 }));
    expect(findDaemon(dir)).toBeUndefined();
  });
  test.if(process.platform === "linux")(
    "a live pid that is not the process that wrote the file is not a running daemon",
    () => {
      // As after a crash or a reboot: the pid now belongs to another process.
      const key = processKey(process.pid);
      expect(key).toBeDefined();
      writeFileSync(join(dir, "daemon.json"), JSON.stringify({ ...info, processKey: key }));
      expect(findDaemon(dir)?.pid).toBe(process.pid);
      writeFileSync(join(dir, "daemon.json"), JSON.stringify({ ...info, processKey: `${key}0` }));
      expect(findDaemon(dir)).toBeUndefined();
    },
  );
  test("garbage and missing files read as undefined", () => {
    writeFileSync(join(dir, "bad.json"), "{not json");
    expect(readDaemonInfo(join(dir, "bad.json"))).toBeUndefined();
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ pid: "x" }));
    expect(readDaemonInfo(join(dir, "bad.json"))).toBeUndefined();
    expect(readDaemonInfo(join(dir, "missing.json"))).toBeUndefined();
  });
});

test("urls bracket IPv6 and map wildcard binds to loopback", () => {
  expect(daemonUrls({ host: "::1", httpPort: 1, wsPort: 2 })).toEqual({
    http: "http://[::1]:1",
    ws: "ws://[::1]:2",
  });
  expect(connectHost("0.0.0.0")).toBe("127.0.0.1");
  expect(connectHost("::")).toBe("[::1]");
  expect(connectHost("localhost")).toBe("localhost");
});

describe("process keys", () => {
  test("the start time is read after the command name, whatever that name holds", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    expect(startTicksFromStat(`42 (we (ird) na me) ${fields.join(" ")}`)).toBe("22");
    expect(startTicksFromStat("42 (short) S 1")).toBeUndefined();
  });
  test.if(process.platform === "linux")("stable for one process, different for another", async () => {
    expect(processKey(process.pid)).toBe(processKey(process.pid) as string);
    const other = Bun.spawn(["sleep", "30"]);
    try {
      expect(processKey(other.pid)).not.toBe(processKey(process.pid) as string);
    } finally {
      other.kill();
    }
  });
});
