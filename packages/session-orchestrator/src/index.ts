export {
  type OrchestratorConfig,
  type OrchestratorConfigInput,
  OrchestratorConfigSchema,
  type RetryPolicy,
  type Timeouts,
} from "./config";
export * from "./contract";
export {
  SESSION_ORCHESTRATOR_EXTENSION_ID,
  type SessionOrchestratorOptions,
  sessionOrchestratorExtension,
} from "./extension";
