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
export {
  answerPermission,
  type ConnectionEffects,
  type EffectHandles,
  NoConnectionError,
  type PermissionAnswers,
  runEffects,
} from "./run-effects";
