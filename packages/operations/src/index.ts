export * from "./contract";
export { decide, refusal, surfaceKey, surfaceTarget } from "./core";
export { type ConnectionEffects, type EffectHandles, NoConnectionError, runEffects } from "./run-effects";
