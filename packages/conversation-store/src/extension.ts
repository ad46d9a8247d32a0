import type { Extension } from "@dispatch/kernel";
import { LATENCY_BUCKETS, Metrics } from "@dispatch/metrics/contract";
import { z } from "zod";
import {
  ConversationCatalog,
  ConversationLog,
  MessageQueueStore,
  PermissionRequests,
  ShareStore,
  StoreOpenError,
  TurnRecords,
  WorkspaceStore,
} from "./contract";
import { openConversationStore } from "./conversation-store";

export const CONVERSATION_STORE_EXTENSION_ID = "conversation-store";

export interface ConversationStoreExtensionOptions {
  /** Database file; the daemon passes one in its data folder. The config section's `path` wins. */
  path?: string;
  /** Clock for createdAt / lastActivityAt; default Date.now. */
  now?: () => number;
}

/** The `conversation-store` config section. */
export const ConversationStoreConfigSchema = z
  .strictObject({
    /** Database file; overrides the path the daemon chose. */
    path: z.string().min(1).optional(),
    /** How long a write waits for another connection's lock; default 5000. */
    busyTimeoutMs: z.number().int().nonnegative().optional(),
  })
  .optional();

export type ConversationStoreConfig = z.infer<typeof ConversationStoreConfigSchema>;

/**
 * Opens (and migrates) the database and provides the store's narrow handles (catalog, log, turns,
 * permission requests, queue, workspaces) from one object; closes it on shutdown. Boot recovery is left
 * to the orchestrator, which owns conversation statuses (`TurnRecords.recover()`).
 * Activation fails with a StoreOpenError (STORE_INVALID_CONFIG, STORE_NO_PATH, STORE_SCHEMA_TOO_NEW,
 * STORE_OPEN_FAILED) naming the file or the setting.
 */
export function conversationStoreExtension(opts: ConversationStoreExtensionOptions = {}): Extension {
  return {
    manifest: {
      id: CONVERSATION_STORE_EXTENSION_ID,
      version: "0.1.0",
      provides: [
        ConversationCatalog,
        ConversationLog,
        TurnRecords,
        PermissionRequests,
        MessageQueueStore,
        WorkspaceStore,
        ShareStore,
      ],
      optionalNeeds: [Metrics],
    },
    activate(ctx) {
      const parsed = ConversationStoreConfigSchema.safeParse(ctx.config ?? undefined);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new StoreOpenError(
          "STORE_INVALID_CONFIG",
          `config "${CONVERSATION_STORE_EXTENSION_ID}": ${issue ? `${issue.path.join(".") || "(section)"}: ${issue.message}` : "invalid"}`,
        );
      }
      const config = parsed.data ?? {};
      const path = config.path ?? opts.path;
      if (path === undefined) {
        throw new StoreOpenError(
          "STORE_NO_PATH",
          `extension "${CONVERSATION_STORE_EXTENSION_ID}" needs a database path: set "path" in its config section or pass { path } to conversationStoreExtension()`,
        );
      }
      const appendSeconds = ctx.tryGet(Metrics)?.histogram({
        name: "dispatch_store_append_duration_seconds",
        help: "Duration of one appendStep (validation and its transaction).",
        buckets: LATENCY_BUCKETS,
      });
      const store = openConversationStore({
        path,
        logger: ctx.logger,
        ...(appendSeconds ? { onAppend: (ms: number) => appendSeconds.observe(ms / 1000) } : {}),
        ...(opts.now ? { now: opts.now } : {}),
        ...(config.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: config.busyTimeoutMs }),
      });
      ctx.scope.add(() => store.close());
      // One object behind every handle: a write through one is read through another at once.
      ctx.provide(ConversationCatalog, store);
      ctx.provide(ConversationLog, store);
      ctx.provide(TurnRecords, store);
      ctx.provide(PermissionRequests, store);
      ctx.provide(MessageQueueStore, store);
      ctx.provide(WorkspaceStore, store);
      ctx.provide(ShareStore, store);
      ctx.logger.info("conversation store open", { path });
    },
  };
}
