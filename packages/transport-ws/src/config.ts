/**
 * The `transport-ws` config section, validated with zod. Strict: an unknown key is an error, so a typo
 * is reported at startup instead of being ignored.
 */
import { z } from "zod";
import { DEFAULT_RATE_LIMIT } from "./rate-limit";

export const DEFAULT_WS_PORT = 24205;
export const DEFAULT_WS_HOST = "127.0.0.1";
/** Largest inbound frame (bytes): a few images as data: URLs fit. Bigger frames close with 1009. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Unsent output per connection (bytes) before it is closed as a slow consumer (4008). */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** See `compression` below; chosen from the measurements in BENCHMARKS.md. */
export const DEFAULT_COMPRESSION = "remote";
/** Seconds without traffic before Bun pings, then drops, a connection. */
export const DEFAULT_IDLE_TIMEOUT_SEC = 120;

const positiveInt = z.number().int().positive();

export const WsConfigSchema = z.strictObject({
  host: z.string().min(1).default(DEFAULT_WS_HOST),
  /** 0 picks a free port; the bound one is on the `WsTransport` service. */
  port: z.number().int().min(0).max(65535).default(DEFAULT_WS_PORT),
  /** The token clients present; generated (128 bits) when absent. */
  token: z.string().min(16).optional(),
  /** Browser origins allowed besides the frontend's dev origins (e.g. `tauri://localhost`). */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  /** The daemon's own HTTP origin(s), allowed too (e.g. `http://127.0.0.1:24203`). */
  httpOrigins: z.array(z.string().min(1)).default([]),
  /** The HTTP port: `http://127.0.0.1:<p>` and `http://localhost:<p>` are then allowed origins. */
  httpPort: z.number().int().min(1).max(65535).optional(),
  /** Host names accepted in `Host` when bound to a non-loopback address. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  requireTokenForBrowsers: z.boolean().default(false),
  /** Admit allowed-origin loopback browsers without checking that the peer runs as our user (risky). */
  trustLocalBrowsers: z.boolean().default(false),
  /** Where paired-browser sessions persist (0600); absent = in memory only. */
  sessionsFile: z.string().min(1).optional(),
  maxPayloadBytes: positiveInt.default(DEFAULT_MAX_PAYLOAD_BYTES),
  maxBufferedBytes: positiveInt.default(DEFAULT_MAX_BUFFERED_BYTES),
  /** 0 disables the idle timeout (and Bun's pings); Bun rounds 1–7 up to 8. */
  idleTimeoutSec: z.number().int().min(0).max(960).default(DEFAULT_IDLE_TIMEOUT_SEC),
  /**
   * permessage-deflate: `off`, `remote` (only for clients that are not on loopback: a LAN or tailnet
   * browser; local clients do not pay for it) or `all`. See BENCHMARKS.md for what it costs and saves.
   */
  compression: z.enum(["off", "remote", "all"]).default(DEFAULT_COMPRESSION),
  rateLimit: z
    .strictObject({
      burst: positiveInt.default(DEFAULT_RATE_LIMIT.burst),
      perSecond: z.number().positive().default(DEFAULT_RATE_LIMIT.perSecond),
      maxStrikes: positiveInt.default(DEFAULT_RATE_LIMIT.maxStrikes),
      /** Bytes a connection may send back to back; at least `maxPayloadBytes` makes sense. */
      bytesBurst: positiveInt.default(DEFAULT_RATE_LIMIT.bytesBurst),
      bytesPerSecond: z.number().positive().default(DEFAULT_RATE_LIMIT.bytesPerSecond),
    })
    .default(DEFAULT_RATE_LIMIT),
});

export type WsConfigInput = z.input<typeof WsConfigSchema>;
export type WsConfig = z.output<typeof WsConfigSchema>;

/** Pure: validates the section; the error lists every problem as `path: message`. */
export function parseWsConfig(raw: unknown): { ok: true; config: WsConfig } | { ok: false; message: string } {
  const r = WsConfigSchema.safeParse(raw ?? {});
  if (r.success) return { ok: true, config: r.data };
  const problems = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  return { ok: false, message: `invalid transport-ws config: ${problems.join("; ")}` };
}

/** Pure: the daemon's own HTTP origins, from `httpOrigins` and `httpPort`. */
export function ownHttpOrigins(config: WsConfig): string[] {
  const fromPort =
    config.httpPort === undefined
      ? []
      : [`http://127.0.0.1:${config.httpPort}`, `http://localhost:${config.httpPort}`];
  return [...config.httpOrigins, ...fromPort];
}
