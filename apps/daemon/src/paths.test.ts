import { expect, test } from "bun:test";
import { daemonPaths } from "./paths";

test("files live in the data folder; DISPATCH_CONFIG overrides the config file", () => {
  const p = daemonPaths("/d", {});
  expect(p).toMatchObject({
    configFile: "/d/dispatch.toml",
    configExplicit: false,
    database: "/d/dispatch.db",
    daemonJson: "/d/daemon.json",
    lock: "/d/daemon.lock",
    logFile: "/d/logs/daemon.log",
  });
  expect(daemonPaths("/d", { DISPATCH_CONFIG: "/etc/x.toml" })).toMatchObject({
    configFile: "/etc/x.toml",
    configExplicit: true,
  });
});
