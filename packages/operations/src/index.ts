export * from "./contract";
export { decide, refusal, surfaceKey, surfaceTarget } from "./core";
export {
  type Read,
  type ReadHandles,
  type ReadName,
  type ReadResult,
  readOutcome,
  readReply,
  type SettingName,
  settingView,
  unknownConversation,
} from "./reads";
export { type ConnectionEffects, type EffectHandles, NoConnectionError, runEffects } from "./run-effects";
