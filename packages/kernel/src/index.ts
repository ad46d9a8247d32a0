export * from "./contract";
export { createHost, DEFAULT_ACTIVATION_TIMEOUT_MS, DEFAULT_DISPOSE_TIMEOUT_MS } from "./host";
export { createMemoryLogger, type MemoryLogger, silentLogger } from "./logger";
