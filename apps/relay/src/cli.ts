/**
 * `dispatch relay --redis <url> --port <n> [--host <addr>] [--prefix <p>] [--connections-per-address <n>]`:
 * runs a relay in the
 * foreground until SIGINT/SIGTERM. Prints `relay listening on http://127.0.0.1:<port>` on stdout once
 * it listens (port 0 = a free port); errors go to stderr with exit code 2 (usage) or 1.
 */
import { DEFAULT_RELAY_LIMITS, redactUrl, startRelay } from "./relay";

export const RELAY_USAGE = `usage: dispatch relay --redis <redis://host:port> --port <n> [--host <addr>] [--prefix <key prefix>]
                      [--connections-per-address <n>]

Serves share viewers (WebSocket, SSE, long-poll, the viewer page) from the Redis a daemon publishes
its shared conversations to ([relay] redis = "…" in its dispatch.toml). Stateless: run as many as you
like behind a load balancer. --port 0 picks a free port. --host defaults to 127.0.0.1.
--connections-per-address caps the open connections (WebSocket, SSE, long-poll) from one client
address (default ${DEFAULT_RELAY_LIMITS.connectionsPerAddress}); behind a balancer every viewer comes from the
balancer's address, so raise it there.`;

export interface RelayArgs {
  redis: string;
  port: number;
  host: string;
  prefix?: string;
  connectionsPerAddress?: number;
}

/** Pure: the relay's arguments, or a message naming the problem. */
export function parseRelayArgs(
  argv: readonly string[],
): { ok: true; value: RelayArgs } | { ok: false; message: string; help?: true } {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--help" || a === "-h") return { ok: false, message: RELAY_USAGE, help: true };
    const m = /^--(redis|port|host|prefix|connections-per-address)(?:=(.*))?$/.exec(a);
    if (!m) return { ok: false, message: `dispatch relay: unknown argument ${a}\n${RELAY_USAGE}` };
    const v = m[2] ?? argv[++i];
    if (v === undefined) return { ok: false, message: `dispatch relay: --${m[1]} needs a value` };
    values[m[1] as string] = v;
  }
  if (!values.redis)
    return { ok: false, message: `dispatch relay: --redis <url> is required\n${RELAY_USAGE}` };
  if (!/^rediss?:\/\/\S+$/.test(values.redis))
    return { ok: false, message: "dispatch relay: --redis: expected a redis:// or rediss:// URL" };
  const port = Number(values.port ?? "NaN");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    return { ok: false, message: "dispatch relay: --port: expected an integer 0..65535" };
  if (values.prefix !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(values.prefix))
    return {
      ok: false,
      message: "dispatch relay: --prefix: expected 1-64 characters of A-Z a-z 0-9 _ . : -",
    };
  const cap = values["connections-per-address"];
  const connectionsPerAddress = cap === undefined ? undefined : Number(cap);
  if (
    connectionsPerAddress !== undefined &&
    (!/^\d+$/.test(cap ?? "") || connectionsPerAddress < 1 || connectionsPerAddress > 10_000_000)
  )
    return {
      ok: false,
      message: "dispatch relay: --connections-per-address: expected an integer 1..10000000",
    };
  return {
    ok: true,
    value: {
      redis: values.redis,
      port,
      host: values.host ?? "127.0.0.1",
      ...(values.prefix ? { prefix: values.prefix } : {}),
      ...(connectionsPerAddress === undefined ? {} : { connectionsPerAddress }),
    },
  };
}

export interface RelayIo {
  stdout: { write(s: string): void };
  stderr: { write(s: string): void };
}

/** Runs until a signal; resolves with the exit code. */
export async function runRelayCli(argv: readonly string[], io: RelayIo): Promise<number> {
  const parsed = parseRelayArgs(argv);
  if (!parsed.ok) {
    (parsed.help ? io.stdout : io.stderr).write(`${parsed.message}\n`);
    return parsed.help ? 0 : 2;
  }
  const { redis, port, host, prefix, connectionsPerAddress } = parsed.value;
  const relay = await startRelay({
    redis,
    port,
    hostname: host,
    ...(prefix ? { prefix } : {}),
    ...(connectionsPerAddress === undefined ? {} : { limits: { connectionsPerAddress } }),
  });
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  io.stdout.write(`relay listening on http://${shown}:${relay.port}\n`);
  io.stderr.write(`relay: reading from ${redactUrl(redis)}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void relay.stop().then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return 0;
}
