/**
 * The `relay` extension: with `[relay] redis` set, publishes the daemon's shared conversations to
 * Redis for relays (publisher.ts). Without it nothing is imported or connected, so a daemon that
 * shares nothing through relays starts as lean as before. Redis being down never fails the boot:
 * the publisher connects in the background and keeps retrying.
 */
import { ConversationCatalog, ConversationLog } from "@dispatch/conversation-store/contract";
import type { Extension } from "@dispatch/kernel";
import { Metrics } from "@dispatch/metrics/contract";
import { Orchestrator } from "@dispatch/session-orchestrator/contract";
import { Shares } from "@dispatch/shares/contract";
import { z } from "zod";
import packageJson from "../package.json";
import { RELAY_EXTENSION_ID, RelayPublishConfigSchema } from "./contract";
import type { Publisher, ShareSource } from "./publisher";

export function relayPublishExtension(): Extension {
  let publisher: Publisher | undefined;
  return {
    manifest: {
      id: RELAY_EXTENSION_ID,
      version: packageJson.version,
      needs: [Orchestrator, ConversationLog],
      optionalNeeds: [Metrics, ConversationCatalog, Shares],
    },
    async activate(ctx) {
      const parsed = RelayPublishConfigSchema.safeParse(ctx.config ?? {});
      if (!parsed.success)
        throw new Error(`invalid config of extension "relay": ${z.prettifyError(parsed.error)}`);
      const config = parsed.data;
      if (config.redis === undefined || !config.publishShared) return;
      const service = ctx.tryGet(Shares);
      // Without the shares service nothing is shared, so nothing is published.
      const shares: ShareSource = service
        ? { list: () => service.records(), onChange: (l) => service.onChange(l) }
        : { list: () => [], onChange: () => () => {} };
      const orchestrator = ctx.get(Orchestrator);
      const log = ctx.get(ConversationLog);
      const catalog = ctx.tryGet(ConversationCatalog);
      const metrics = ctx.tryGet(Metrics);
      const { startPublisher } = await import("./publisher");
      publisher = startPublisher(
        {
          redis: config.redis,
          ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
          ...(config.streamMaxLen === undefined ? {} : { streamMaxLen: config.streamMaxLen }),
          ...(config.historyMax === undefined ? {} : { historyMax: config.historyMax }),
          ...(config.bufferMax === undefined ? {} : { bufferMax: config.bufferMax }),
        },
        {
          subscribe: (id, l) => orchestrator.subscribe(id, l),
          replay: (id) => orchestrator.replay(id),
          status: (id) => orchestrator.status(id),
          workspaceOf: (id) => catalog?.getConversation(id)?.workspaceId,
          chunks: (id, sinceSeq, limit) => {
            const w = log.readWindow(id, { sinceSeq, limit });
            return w.ok ? w.value.chunks : [];
          },
          shares,
        },
        { logger: ctx.logger, ...(metrics ? { metrics } : {}) },
      );
    },
    async deactivate() {
      await publisher?.stop();
    },
  };
}
