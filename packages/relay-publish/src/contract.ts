/**
 * The relay publisher's contract: its extension id (= its config section, `[relay]`) and its config
 * schema. It learns the daemon's shares from the shares service (`Shares.unexpired`, `onChange`).
 */
import { z } from "zod";

export type { PublishedShare, ShareSource } from "./publisher";

export const RELAY_EXTENSION_ID = "relay";

/** `[relay]` in dispatch.toml. Nothing is loaded or connected without `redis`. */
export const RelayPublishConfigSchema = z
  .object({
    /** `redis://[user:password@]host:port[/db]` — the Redis relays read from. */
    redis: z
      .string({ error: "expected a redis:// or rediss:// URL" })
      .regex(/^rediss?:\/\/[^\s]+$/, { error: "expected a redis:// or rediss:// URL" })
      .optional(),
    /** Publish every shared conversation (default true once `redis` is set). */
    publishShared: z.boolean({ error: "expected true or false" }).default(true),
    /** Key prefix (several daemons or deployments in one Redis). */
    prefix: z
      .string({ error: "expected a key prefix" })
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: "expected 1-64 characters of A-Z a-z 0-9 _ . : -" })
      .optional(),
    /** Events kept per conversation stream (`XADD … MAXLEN ~`). */
    streamMaxLen: z.number().int().min(100).max(10_000_000).optional(),
    /** History chunks kept per conversation. */
    historyMax: z.number().int().min(10).max(1_000_000).optional(),
    /** Ops waiting for Redis at most; more are dropped and counted. */
    bufferMax: z.number().int().min(100).max(10_000_000).optional(),
  })
  .strict();
export type RelayPublishConfig = z.infer<typeof RelayPublishConfigSchema>;
