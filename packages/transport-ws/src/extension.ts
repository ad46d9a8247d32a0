/**
 * The `transport-ws` extension: validates its config, starts the WebSocket server (server.ts) and wires
 * the kernel's conversation events to global broadcasts. Provides `WsTransport` (bound port, token) so
 * the composition root can write daemon.json.
 */

import { BrowserSessions, browserAccess } from "@dispatch/connection-policy/io";
import type { Extension } from "@dispatch/kernel";
import { Metrics } from "@dispatch/metrics/contract";
import {
  ConversationCompacted,
  ConversationOpened,
  ConversationSettingsService,
  ConversationStatusChanged,
  Orchestrator,
  TurnSettled,
  TurnStarted,
} from "@dispatch/session-orchestrator/contract";
import { Shares } from "@dispatch/shares/contract";
import { SurfaceRegistry } from "@dispatch/surface-registry/contract";
import { PermissionGate } from "@dispatch/tools/contract";
import { parseWsConfig } from "./config";
import { BrowserAccess, TRANSPORT_WS_EXTENSION_ID, WsTransport, WsTransportError } from "./contract";
import { startWsServer } from "./server";

export interface TransportWsExtensionOptions {
  /** Mints conversation ids for `chat.send` without one (default: crypto.randomUUID). */
  newConversationId?: () => string;
  /** Clock for the rate limit (default: performance.now). */
  now?: () => number;
}

/** Pure enough to test: 128 random bits as hex, from the CSPRNG. */
function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Conversations' workspaces remembered at most (then forgotten and asked again). */
const WORKSPACE_CACHE_SIZE = 10_000;

/**
 * The workspace of a conversation, for `workspace:<id>:*` channels: learnt from status changes (every
 * turn start announces one, with the workspace), else asked from the settings once and remembered.
 */
export function workspaceCache(settings: Pick<ConversationSettingsService, "getSettings"> | undefined) {
  const known = new Map<string, string>();
  const note = (conversationId: string, workspaceId: string) => {
    if (known.size >= WORKSPACE_CACHE_SIZE && !known.has(conversationId)) known.clear();
    known.set(conversationId, workspaceId);
  };
  return {
    note,
    of(conversationId: string): string | undefined {
      const hit = known.get(conversationId);
      if (hit !== undefined) return hit;
      const found = settings?.getSettings(conversationId)?.workspaceId;
      if (found !== undefined) note(conversationId, found);
      return found;
    },
  };
}

export function transportWsExtension(opts: TransportWsExtensionOptions = {}): Extension {
  return {
    manifest: {
      id: TRANSPORT_WS_EXTENSION_ID,
      version: "0.1.0",
      provides: [BrowserAccess, WsTransport],
      needs: [SurfaceRegistry, Orchestrator],
      optionalNeeds: [PermissionGate, Metrics, ConversationSettingsService, Shares],
    },
    activate(ctx) {
      const parsed = parseWsConfig(ctx.config);
      if (!parsed.ok) throw new WsTransportError("WS_INVALID_CONFIG", parsed.message);
      const config = parsed.config;
      const access = browserAccess(
        new BrowserSessions({
          ...(config.sessionsFile === undefined ? {} : { file: config.sessionsFile }),
          warn: (m) => ctx.logger.warn(m),
        }),
      );
      ctx.provide(BrowserAccess, access);
      const metrics = ctx.tryGet(Metrics);
      const gate = ctx.tryGet(PermissionGate);
      const workspaces = workspaceCache(ctx.tryGet(ConversationSettingsService));
      const shares = ctx.tryGet(Shares);
      const server = startWsServer({
        workspaceOf: workspaces.of,
        ...(shares ? { shares } : {}),
        access,
        config,
        token: config.token ?? generateToken(),
        registry: ctx.get(SurfaceRegistry),
        orchestrator: ctx.get(Orchestrator),
        ...(gate ? { gate } : {}),
        logger: ctx.logger,
        newConversationId: opts.newConversationId ?? (() => crypto.randomUUID()),
        now: opts.now ?? (() => performance.now()),
        ...(metrics ? { metrics } : {}),
      });
      ctx.scope.add(() => server.close());
      ctx.scope.add(
        ctx.on(ConversationOpened, (e) =>
          server.broadcast({
            type: "conversation.open",
            conversationId: e.conversationId,
            workspaceId: e.workspaceId,
          }),
        ),
      );
      ctx.scope.add(
        ctx.on(ConversationStatusChanged, (e) => {
          workspaces.note(e.conversationId, e.workspaceId);
          server.broadcast({
            type: "conversation.statusChanged",
            conversationId: e.conversationId,
            status: e.status,
            workspaceId: e.workspaceId,
          });
        }),
      );
      ctx.scope.add(
        ctx.on(ConversationCompacted, (e) =>
          server.broadcast({
            type: "conversation.compacted",
            conversationId: e.conversationId,
            newConversationId: e.newConversationId,
            messagesSummarized: e.messagesSummarized,
            messagesKept: e.messagesKept,
          }),
        ),
      );
      ctx.scope.add(ctx.on(TurnStarted, (e) => server.turnStarted(e.conversationId, e.turnId)));
      ctx.scope.add(ctx.on(TurnSettled, (e) => server.turnSettled(e.conversationId)));
      ctx.provide(WsTransport, server);
      ctx.logger.info("listening", { url: server.url });
    },
  };
}
