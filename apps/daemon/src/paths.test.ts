import { expect, test } from "bun:test";
import { daemonPaths, resolveHome } from "./paths";

test("DISPATCH_HOME wins", () => {
  expect(resolveHome({ env: { DISPATCH_HOME: "/x/y" }, platform: "linux", homedir: "/home/u" })).toBe("/x/y");
});

test("per-platform state folders", () => {
  expect(resolveHome({ env: {}, platform: "linux", homedir: "/home/u" })).toBe(
    "/home/u/.local/state/dispatch",
  );
  expect(resolveHome({ env: { XDG_STATE_HOME: "/s" }, platform: "linux", homedir: "/home/u" })).toBe(
    "/s/dispatch",
  );
  // Relative XDG paths are invalid per the spec and ignored.
  expect(resolveHome({ env: { XDG_STATE_HOME: "rel" }, platform: "linux", homedir: "/home/u" })).toBe(
    "/home/u/.local/state/dispatch",
  );
  expect(resolveHome({ env: {}, platform: "darwin", homedir: "/Users/u" })).toBe(
    "/Users/u/Library/Application Support/dispatch",
  );
});

test("files live in the data folder; DISPATCH_CONFIG overrides the config file", () => {
  const p = daemonPaths("/d", {});
  expect(p).toMatchObject({
    configFile: "/d/dispatch.toml",
    configExplicit: false,
    database: "/d/dispatch.db",
    daemonJson: "/d/daemon.json",
    logFile: "/d/logs/daemon.log",
  });
  expect(daemonPaths("/d", { DISPATCH_CONFIG: "/etc/x.toml" })).toMatchObject({
    configFile: "/etc/x.toml",
    configExplicit: true,
  });
});
