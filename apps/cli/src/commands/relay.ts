import { EXIT } from "../io";
import type { CommandSpec } from "./spec";

export const relay: CommandSpec = {
  name: "relay",
  usage: "relay --redis <url> --port <n> [--host <addr>] [--prefix <p>] [--connections-per-address <n>]",
  summary: "serve share viewers from Redis (a stateless relay; run several behind a load balancer)",
  helpText:
    "usage: dispatch relay --redis <redis://host:port> --port <n> [--host <addr>] [--prefix <key prefix>] [--connections-per-address <n>]",
  positionals: { min: 0, max: 0, names: "" },
  options: [],
  passThrough: true,
  async run(ctx) {
    const { runRelayCli } = await import("@dispatch/relay");
    const code = await runRelayCli(ctx.args, { stdout: ctx.io.stdout, stderr: ctx.io.stderr });
    return code === 0 ? EXIT.ok : code;
  },
};
