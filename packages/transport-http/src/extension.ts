import { randomBytes } from "node:crypto";
import { ConversationStore } from "@dispatch/conversation-store";
import type { Extension } from "@dispatch/kernel";
import { openApiDocument, protocolJsonSchema } from "@dispatch/protocol";
import { ModelCatalog } from "@dispatch/providers";
import { Orchestrator } from "@dispatch/session-orchestrator";
import { BrowserAccess } from "@dispatch/transport-ws/contract";
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
 * The HTTP API (PROTOCOL.md §6) on Bun.serve. Config (`config["transport-http"]`): host, port (0 = free),
 * token, allowedOrigins, allowedHosts, requireTokenForBrowsers, maxBodyBytes, idleTimeoutSec. Provides
 * `HttpTransport`.
 */
export function httpTransportExtension(options: HttpTransportExtensionOptions = {}): Extension {
  return {
    manifest: {
      id: HTTP_TRANSPORT_ID,
      version: PACKAGE_VERSION,
      dependsOn: ["session-orchestrator", "conversation-store"],
      // transport-ws shares its browser sessions; without it this port keeps a private set.
      optionalDependsOn: ["providers", "transport-ws"],
    },
    activate(ctx) {
      const parsed = parseHttpTransportConfig(ctx.config);
      if (!parsed.ok) throw new Error(parsed.message);
      const config = parsed.value;
      const orchestrator = ctx.get(Orchestrator);
      const store = ctx.get(ConversationStore);
      const catalog = ctx.tryGet(ModelCatalog);
      if (config.token === undefined) {
        ctx.logger.warn("no token configured; using a random one that no client knows");
      }
      const token = config.token ?? randomBytes(32).toString("base64url");
      const version = options.version ?? PACKAGE_VERSION;
      const routes = apiRoutes({
        orchestrator,
        store,
        models: () => catalog?.list() ?? [],
        version,
        maxBodyBytes: config.maxBodyBytes,
        logger: ctx.logger,
        openApiJson: lazyJson(() => openApiDocument({ version })),
        protocolJson: lazyJson(protocolJsonSchema),
      });
      const webRoot = config.webRoot === undefined ? undefined : resolveWebRoot(config.webRoot);
      const access = ctx.tryGet(BrowserAccess);
      const running = startHttpServer({
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
      });
      // Shutdown cuts what is left (streams included); the daemon stops turns before that.
      ctx.scope.add(() => running.stop(true));
      ctx.provide(HttpTransport, {
        port: running.port,
        host: running.host,
        url: running.url,
        stopAccepting: () => {
          void running.stop(false);
          return Promise.resolve();
        },
      });
      ctx.logger.info("HTTP API listening", { url: running.url });
    },
  };
}
