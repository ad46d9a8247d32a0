import { daemonPaths } from "@dispatch/daemon/cli";
import { findDaemon } from "@dispatch/discovery";
import { EXIT, isTimeout } from "../io";
import type { CommandSpec } from "./spec";

export const status: CommandSpec = {
  name: "status",
  usage: "status",
  summary: "is a daemon running and healthy? pid, ports, default model, active turns, paths",
  details: "Exits 0 when a daemon runs and answers, 3 when none runs, 1 when it runs but is unhealthy.",
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  async run({ home, io, json, print, printJson, daemon }) {
    const paths = daemonPaths(home, io.env);
    const info = findDaemon(home);
    const where = { home, config: paths.configFile, log: paths.logFile };
    if (!info) {
      if (json) printJson({ running: false, ...where });
      else print(`no dispatch daemon is running for ${home}`);
      return EXIT.unavailable;
    }
    const { token: _token, ...publicInfo } = info;
    let problem: string | undefined;
    let defaultModel: string | undefined;
    let activeTurns: number | undefined;
    try {
      const { http } = await daemon();
      await http.health();
      const [models, active] = await Promise.all([
        http.models(),
        http.listConversations({ status: ["active"], limit: 500 }),
      ]);
      defaultModel = models.defaultModel;
      activeTurns = active.conversations.length;
    } catch (err) {
      problem = isTimeout(err) ? `not responding (pid ${info.pid})` : (err as Error).message;
    }
    if (json) {
      printJson({
        running: true,
        healthy: problem === undefined,
        ...where,
        ...publicInfo,
        defaultModel,
        activeTurns,
        ...(problem ? { problem } : {}),
      });
    } else {
      print(
        `dispatch daemon ${info.version} ${problem ? "running but UNHEALTHY" : "running"} (pid ${info.pid}) since ${info.startedAt}`,
      );
      print(`  http           http://${info.host}:${info.httpPort}`);
      print(`  ws             ws://${info.host}:${info.wsPort}`);
      if (defaultModel) print(`  default model  ${defaultModel}`);
      if (activeTurns !== undefined) print(`  active turns   ${activeTurns}`);
      print(`  data           ${home}`);
      print(`  config         ${paths.configFile}`);
      print(`  log            ${paths.logFile}`);
      if (problem) print(`  problem        ${problem}`);
    }
    return problem ? EXIT.failed : EXIT.ok;
  },
};
