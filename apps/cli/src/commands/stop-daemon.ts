import { findDaemon, isPidAlive } from "@dispatch/discovery";
import { CliError, EXIT } from "../io";
import type { CommandSpec } from "./spec";

export const stopDaemon: CommandSpec = {
  name: "stop-daemon",
  usage: "stop-daemon",
  summary: "stop the running daemon (SIGTERM) and wait until it has",
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  async run({ home, json, print, printJson }) {
    const info = findDaemon(home);
    if (!info) {
      if (json) printJson({ stopped: false, running: false, home });
      else print(`no dispatch daemon is running for ${home}`);
      return EXIT.ok;
    }
    process.kill(info.pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (isPidAlive(info.pid) && Date.now() < deadline) await Bun.sleep(50);
    if (isPidAlive(info.pid))
      throw new CliError(`daemon (pid ${info.pid}) did not stop within 15 s`, EXIT.failed);
    if (json) printJson({ stopped: true, pid: info.pid, home });
    else print(`stopped dispatch daemon (pid ${info.pid})`);
    return EXIT.ok;
  },
};
