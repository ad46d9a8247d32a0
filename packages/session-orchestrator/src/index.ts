export {
  backoffDelay,
  DEFAULT_SYSTEM_PROMPT,
  type OrchestratorConfig,
  type OrchestratorConfigInput,
  OrchestratorConfigSchema,
  parseOrchestratorConfig,
  type RetryPolicy,
  type Timeouts,
} from "./config";
export * from "./contract";
export {
  SESSION_ORCHESTRATOR_EXTENSION_ID,
  type SessionOrchestratorOptions,
  sessionOrchestratorExtension,
} from "./extension";
export { cancelActionId, messageQueueSpec, messageQueueSurface } from "./message-queue-surface";
export { createOrchestrator, type OrchestratorDeps, OrchestratorService } from "./orchestrator";
