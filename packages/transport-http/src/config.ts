import { z } from "zod";
import { DEFAULT_STREAM_LIMITS } from "./stream-limits";

/** Default HTTP port (compat). */
export const DEFAULT_HTTP_PORT = 24203;
/** Default largest request body: room for a 1 MiB prompt plus a few inline images. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Default idle timeout of ordinary requests, in seconds. */
export const DEFAULT_IDLE_TIMEOUT_SEC = 30;

/** The extension's config section (host `config["transport-http"]`). */
export const HttpTransportConfigSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  /** 0 = pick a free port. */
  port: z.number().int().min(0).max(65535).default(DEFAULT_HTTP_PORT),
  /** Bearer token clients present; absent = a random one (then only useful in tests). */
  token: z.string().min(1).optional(),
  /** Browser origins allowed besides the frontend's dev origins and our own origin. */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  /** Host names accepted in `Host` when bound to a non-loopback address. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  requireTokenForBrowsers: z.boolean().default(false),
  /** Admit allowed-origin loopback browsers without the peer-owner check (any local user can then forge). */
  trustLocalBrowsers: z.boolean().default(false),
  /** A folder served as a single-page app (`[web] root` of dispatch.toml). */
  webRoot: z.string().min(1).optional(),
  maxBodyBytes: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  /**
   * Seconds a connection may stay silent before Bun closes it (Bun's own default is 10). NDJSON chat
   * streams are exempt: a slow first token must not cut them.
   */
  idleTimeoutSec: z.number().int().min(1).max(255).default(DEFAULT_IDLE_TIMEOUT_SEC),
  /** SSE (`GET /events`) and long-poll (`GET /conversations/:id/events`) limits. */
  streams: z
    .strictObject({
      maxPerAddress: z.number().int().positive().default(DEFAULT_STREAM_LIMITS.maxPerAddress),
      maxBufferedBytes: z.number().int().positive().default(DEFAULT_STREAM_LIMITS.maxBufferedBytes),
      keepAliveSec: z.number().int().min(1).max(300).default(DEFAULT_STREAM_LIMITS.keepAliveSec),
    })
    .default(DEFAULT_STREAM_LIMITS),
});
export type HttpTransportConfig = z.infer<typeof HttpTransportConfigSchema>;

/** Pure: validates the config section; the error names each bad field. */
export function parseHttpTransportConfig(
  raw: unknown,
): { ok: true; value: HttpTransportConfig } | { ok: false; message: string } {
  const r = HttpTransportConfigSchema.safeParse(raw ?? {});
  if (r.success) return { ok: true, value: r.data };
  const message = r.error.issues
    .map(
      (i) =>
        `${i.path.join(".") || "(root)"}: ${i.code === "unrecognized_keys" ? `unknown key ${i.keys.join(", ")}` : i.message}`,
    )
    .join("; ");
  return { ok: false, message: `invalid transport-http config: ${message}` };
}
