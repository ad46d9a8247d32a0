import { randomBytes } from "node:crypto";
import { ConversationCatalog, ConversationLog } from "@dispatch/conversation-store/contract";
import type { Extension } from "@dispatch/kernel";
import { Metrics } from "@dispatch/metrics/contract";
import { openApiDocument, protocolJsonSchema } from "@dispatch/protocol";
import { ModelCatalog } from "@dispatch/providers/contract";
import {
  ConversationSettingsService,
  Orchestrator,
  TurnSettled,
  TurnStarted,
} from "@dispatch/session-orchestrator/contract";
import { Shares } from "@dispatch/shares/contract";
import { PermissionGate } from "@dispatch/tools/contract";
import { McpServers } from "@dispatch/tools-mcp/contract";
import { BrowserAccess, WsTransport } from "@dispatch/transport-ws/contract";
import packageJson from "../package.json";
import { apiRoutes } from "./api";
import { parseHttpTransportConfig } from "./config";
import { HTTP_TRANSPORT_ID, HttpTransport } from "./contract";
import { startHttpServer } from "./server";
import { resolveWebRoot } from "./static";

export interface HttpTransportExtensionOptions {
  /** Reported by `GET /health`; default this package's version. */
  version?: string;
}

const PACKAGE_VERSION: string = packageJson.version;

/** Serializes a document once, on first use. */
function lazyJson(make: () => unknown): () => string {
  let cached: string | undefined;
  return () => {
    cached ??= JSON.stringify(make());
    return cached;
  };
}

/**
 * The OpenAPI document with `servers` naming the URL the client used (the daemon's port is often
 * chosen at start). The document is built on the first request for it (building it from the schemas
 * took ~20–35 ms of every start), then once; the per-base-URL text is cached (a handful of hosts).
 */
function openApiFor(version: string): (baseUrl: string) => string {
  let doc: ReturnType<typeof openApiDocument> | undefined;
  const byBase = new Map<string, string>();
  return (baseUrl) => {
    let text = byBase.get(baseUrl);
    if (text === undefined) {
      doc ??= openApiDocument({ version });
      text = JSON.stringify({ ...doc, servers: [{ url: baseUrl }] });
      if (byBase.size < 16) byBase.set(baseUrl, text);
    }
    return text;
  };
}

/**
 * The HTTP API (PROTOCOL.md §6) on Bun.serve. Config (`config["transport-http"]`): host, port (0 = free),
 * token, allowedOrigins, allowedHosts, requireTokenForBrowsers, maxBodyBytes, idleTimeoutSec. Provides
 * `HttpTransport`.
 */
export function httpTransportExtension(options: HttpTransportExtensionOptions = {}): Extension {
  return {
    manifest: {
      id: HTTP_TRANSPORT_ID,
      version: PACKAGE_VERSION,
      provides: [HttpTransport],
      needs: [Orchestrator, ConversationSettingsService, ConversationCatalog, ConversationLog],
      // transport-ws shares its browser sessions (BrowserAccess); without it this port keeps a private set.
      optionalNeeds: [ModelCatalog, PermissionGate, BrowserAccess, Metrics, McpServers, Shares, WsTransport],
    },
    activate(ctx) {
      const parsed = parseHttpTransportConfig(ctx.config);
      if (!parsed.ok) throw new Error(parsed.message);
      const config = parsed.value;
      const orchestrator = ctx.get(Orchestrator);
      const conversations = ctx.get(ConversationCatalog);
      const catalog = ctx.tryGet(ModelCatalog);
      const mcp = ctx.tryGet(McpServers);
      const gate = ctx.tryGet(PermissionGate);
      const shares = ctx.tryGet(Shares);
      const wsTransport = ctx.tryGet(WsTransport);
      if (config.token === undefined) {
        ctx.logger.warn("no token configured; using a random one that no client knows");
      }
      const token = config.token ?? randomBytes(32).toString("base64url");
      const version = options.version ?? PACKAGE_VERSION;
      const metrics = ctx.tryGet(Metrics);
      const startedAt = performance.now();
      // Counted from the orchestrator's kernel events, so /health needs no extra orchestrator method.
      const running = new Set<string>();
      const started = new Set<(conversationId: string, turnId: string) => void>();
      const settled = new Set<(conversationId: string) => void>();
      ctx.on(TurnStarted, (t) => {
        running.add(t.turnId);
        for (const l of [...started]) l(t.conversationId, t.turnId);
      });
      ctx.on(TurnSettled, (t) => {
        running.delete(t.turnId);
        for (const l of [...settled]) l(t.conversationId);
      });
      const listen = <L>(set: Set<L>, l: L) => {
        set.add(l);
        return () => {
          set.delete(l);
        };
      };
      const storeState = (): "ok" | "failing" => {
        try {
          return conversations.listConversations({ limit: 1 }).ok ? "ok" : "failing";
        } catch {
          return "failing";
        }
      };
      const routes = apiRoutes({
        orchestrator,
        settings: ctx.get(ConversationSettingsService),
        ...(gate ? { gate } : {}),
        ...(shares ? { shares } : {}),
        conversations,
        log: ctx.get(ConversationLog),
        models: () => catalog?.list() ?? [],
        defaultModel: () => catalog?.defaultModel(),
        mcpServers: () => mcp?.list() ?? [],
        version,
        maxBodyBytes: config.maxBodyBytes,
        logger: ctx.logger,
        openApiJson: openApiFor(version),
        protocolJson: lazyJson(protocolJsonSchema),
        health: () => ({
          uptimeSec: Math.floor((performance.now() - startedAt) / 1000),
          activeTurns: running.size,
          store: storeState(),
        }),
        ...(metrics ? { metricsText: () => metrics.render() } : {}),
        streams: config.streams,
        turns: { onStarted: (l) => listen(started, l), onSettled: (l) => listen(settled, l) },
      });
      const webRoot = config.webRoot === undefined ? undefined : resolveWebRoot(config.webRoot);
      const access = ctx.tryGet(BrowserAccess);
      const server = startHttpServer({
        ...(webRoot === undefined ? {} : { webRoot }),
        ...(access === undefined ? {} : { access }),
        trustLocalBrowsers: config.trustLocalBrowsers,
        host: config.host,
        port: config.port,
        token,
        allowedOrigins: config.allowedOrigins,
        allowedHosts: config.allowedHosts,
        requireTokenForBrowsers: config.requireTokenForBrowsers,
        maxBodyBytes: config.maxBodyBytes,
        idleTimeoutSec: config.idleTimeoutSec,
        routes,
        logger: ctx.logger,
        ...(metrics ? { metrics } : {}),
        ...(shares ? { shares } : {}),
        wsPort: () => wsTransport?.port,
      });
      // Shutdown cuts what is left (streams included); the daemon stops turns before that.
      ctx.scope.add(() => server.stop(true));
      ctx.provide(HttpTransport, {
        port: server.port,
        host: server.host,
        url: server.url,
        stopAccepting: () => {
          void server.stop(false);
          return Promise.resolve();
        },
      });
      ctx.logger.info("HTTP API listening", { url: server.url });
    },
  };
}
