import { DAEMON_USAGE } from "@dispatch/daemon/cli";
import { EXIT } from "../io";
import type { CommandSpec } from "./spec";

export const serve: CommandSpec = {
  name: "serve",
  usage: "serve [--http-port N] [--ws-port N] [--config <file>] …",
  summary: "run the daemon in the foreground (Ctrl-C stops it)",
  helpText: DAEMON_USAGE,
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  passThrough: true,
  async run(ctx) {
    const { runDaemon, DaemonError } = await import("@dispatch/daemon");
    try {
      const daemon = await runDaemon({
        // `dispatch --home X serve` names it here; `dispatch serve --home X` in the daemon's own argv.
        ...(typeof ctx.values.home === "string" ? { home: ctx.home } : {}),
        env: ctx.io.env,
        argv: ctx.args,
        // --json: one ready line on stdout instead of the banner.
        ...(ctx.json ? { out: () => {} } : {}),
      });
      if (ctx.json) {
        const { token: _token, stop: _stop, stopped: _stopped, ...info } = daemon;
        ctx.io.stdout.write(`${JSON.stringify({ type: "ready", ...info })}\n`);
      }
      await daemon.stopped;
      return EXIT.ok;
    } catch (err) {
      if (err instanceof DaemonError) {
        if (err.code === "DAEMON_HELP") ctx.io.stdout.write(`${err.message}\n`);
        else if (ctx.json)
          ctx.io.stderr.write(
            `${JSON.stringify({ type: "error", code: err.code, message: err.message, exitCode: err.exitCode })}\n`,
          );
        else ctx.io.stderr.write(`dispatch serve: ${err.message}\n`);
        return err.exitCode;
      }
      throw err;
    }
  },
};
