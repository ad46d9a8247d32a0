/**
 * Test fixture: a host with the real store (SQLite file), the real providers (pointed at a loopback
 * OpenAI- or Anthropic-format server), the real tools and permission gate, the surface registry and the orchestrator.
 */
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { createHost, type Host, type Logger } from "@dispatch/kernel";
import { anthropicKind } from "@dispatch/provider-anthropic";
import { localKind } from "@dispatch/provider-local";
import { openAICompatibleKind } from "@dispatch/provider-openai-compatible";
import { providersExtension } from "@dispatch/providers";
import { surfaceRegistryExtension } from "@dispatch/surface-registry";
import { type PermissionConfigInput, toolsExtensions } from "@dispatch/tools";
import type { OrchestratorConfigInput } from "./config";
import { type Orchestrator, Orchestrator as OrchestratorHandle } from "./contract";
import { sessionOrchestratorExtension } from "./extension";

const TEST_MODEL = "test/test-model";

export interface DaemonFixtureOptions {
  dbPath: string;
  /** Base URL of the loopback server (with /v1). */
  baseUrl: string;
  /** The kind of server at `baseUrl` (default openai-compatible). */
  kind?: "openai-compatible" | "anthropic";
  cwd: string;
  config?: OrchestratorConfigInput;
  permissions?: PermissionConfigInput;
  logger?: Logger;
}

export interface DaemonFixture extends AsyncDisposable {
  host: Host;
  orch: Orchestrator;
}

export async function startDaemonFixture(opts: DaemonFixtureOptions): Promise<DaemonFixture> {
  const host = createHost({
    extensions: [
      conversationStoreExtension({ path: opts.dbPath }),
      providersExtension({ env: {}, kinds: [anthropicKind, openAICompatibleKind, localKind()] }),
      surfaceRegistryExtension({ loadedExtensions: false }),
      ...toolsExtensions({ permissions: { config: opts.permissions ?? {} } }),
      sessionOrchestratorExtension({
        defaultCwd: opts.cwd,
        config: { retry: { initialDelayMs: 5, maxDelayMs: 20 }, ...opts.config },
      }),
    ],
    config: {
      providers: {
        credentials: {
          test: {
            kind: opts.kind ?? "openai-compatible",
            baseUrl: opts.baseUrl,
            apiKey: "test-key",
            models: ["test-model"],
          },
        },
        defaultModel: TEST_MODEL,
        providerEnvKeys: false,
      },
    },
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const report = await host.start();
  if (report.disabled.length > 0) {
    await host.stop();
    throw new Error(`extensions disabled: ${report.disabled.map((d) => `${d.id}: ${d.reason}`).join("; ")}`);
  }
  return { host, orch: host.get(OrchestratorHandle), [Symbol.asyncDispose]: () => host.stop() };
}
