import {
  ConversationCatalog,
  ConversationLog,
  MessageQueueStore,
  TurnRecords,
  WorkspaceStore,
} from "@dispatch/conversation-store/contract";
import type { Extension } from "@dispatch/kernel";
import { Metrics } from "@dispatch/metrics/contract";
import { ModelCatalog } from "@dispatch/providers/contract";
import { SurfaceRegistry } from "@dispatch/surface-registry/contract";
import { PermissionGate, ToolRegistry, ToolRuns } from "@dispatch/tools/contract";
import { type OrchestratorConfigInput, parseOrchestratorConfig } from "./config";
import { ConversationSettingsService, Orchestrator } from "./contract";
import { messageQueueSurface } from "./message-queue-surface";
import { createOrchestrator, type OrchestratorService } from "./orchestrator";
import { createSettingsService } from "./settings";
import type { OrchestratorStores } from "./stores";
import { observeTurns } from "./turn-observer";

export const SESSION_ORCHESTRATOR_EXTENSION_ID = "session-orchestrator";

export interface SessionOrchestratorOptions {
  /** Used instead of the host's config section (tests, embedding). */
  config?: OrchestratorConfigInput;
  /** The cwd of conversations with neither their own cwd nor a workspace default; default process.cwd(). */
  defaultCwd?: string;
  /** Epoch milliseconds for records; default Date.now. */
  now?: () => number;
  /** Monotonic milliseconds for metrics; default performance.now. */
  clock?: () => number;
  /** Region of the `message-queue` surface; default "composer". */
  surfaceRegion?: string;
}

/**
 * Provides the `Orchestrator` and the `ConversationSettingsService`. Needs the conversation store and the model catalog; uses the tool
 * registry, the permission gate and the surface registry when they are installed. On activation it runs
 * the store's boot recovery (conversations left active by a crash become idle, their turns interrupted,
 * their in-flight steps written into the history as interrupted), kills the processes of tool calls
 * the crash interrupted (by their run id's marker), and restores the durable message queues (delivered with each conversation's next turn).
 * On shutdown it aborts every turn and waits until all are sealed.
 */
export function sessionOrchestratorExtension(opts: SessionOrchestratorOptions = {}): Extension {
  let orchestrator: OrchestratorService | undefined;
  return {
    manifest: {
      id: SESSION_ORCHESTRATOR_EXTENSION_ID,
      version: "0.1.0",
      provides: [Orchestrator, ConversationSettingsService],
      needs: [
        ConversationCatalog,
        ConversationLog,
        TurnRecords,
        MessageQueueStore,
        WorkspaceStore,
        ModelCatalog,
      ],
      optionalNeeds: [ToolRegistry, ToolRuns, PermissionGate, SurfaceRegistry, Metrics],
    },
    activate(ctx) {
      const parsed = parseOrchestratorConfig(opts.config ?? ctx.config);
      if (!parsed.ok) throw new Error(parsed.message);
      const store: OrchestratorStores = {
        conversations: ctx.get(ConversationCatalog),
        log: ctx.get(ConversationLog),
        turns: ctx.get(TurnRecords),
        queue: ctx.get(MessageQueueStore),
        workspaces: ctx.get(WorkspaceStore),
      };
      const { interruptedToolRuns, ...recovered } = store.turns.recover();
      if (recovered.conversationsReset > 0 || recovered.turnsInterrupted > 0 || recovered.stepsPromoted > 0) {
        ctx.logger.info("recovered after an unclean stop", {
          ...recovered,
          interruptedToolRuns: interruptedToolRuns.length,
        });
      }
      // Whatever an interrupted run_shell left running would act after the restart: kill it first.
      const runs = ctx.tryGet(ToolRuns);
      for (const run of interruptedToolRuns) {
        const killed = runs?.killInterrupted(run.runId) ?? 0;
        if (killed > 0)
          ctx.logger.warn("killed processes an interrupted tool call left running", {
            conversationId: run.conversationId,
            toolCallId: run.toolCallId,
            tool: run.toolName,
            processes: killed,
          });
      }
      const tools = ctx.tryGet(ToolRegistry);
      const gate = ctx.tryGet(PermissionGate);
      if (!gate) ctx.logger.warn("no permission gate installed: tool calls run without asking");
      const catalog = ctx.get(ModelCatalog);
      const defaultCwd = opts.defaultCwd ?? process.cwd();
      const settings = createSettingsService({ store, catalog, defaultCwd });
      const metrics = ctx.tryGet(Metrics);
      const onLive = observeTurns({
        settings,
        logger: ctx.logger,
        ...(metrics ? { metrics } : {}),
        clock: opts.clock ?? (() => performance.now()),
      });
      const service = createOrchestrator({
        store,
        catalog,
        ...(tools ? { tools } : {}),
        ...(gate ? { gate } : {}),
        config: parsed.value,
        logger: ctx.logger,
        emit: (event, payload) => ctx.emit(event, payload),
        defaultCwd,
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.clock ? { clock: opts.clock } : {}),
        onLive,
      });
      orchestrator = service;
      ctx.provide(Orchestrator, service);
      ctx.provide(ConversationSettingsService, settings);
      const surfaces = ctx.tryGet(SurfaceRegistry);
      if (surfaces) ctx.scope.add(surfaces.register(messageQueueSurface(service, opts.surfaceRegion)));
    },
    async deactivate() {
      await orchestrator?.shutdown();
    },
  };
}
