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
  authorize,
  authorizeCommand,
  COMMAND_REQUIREMENTS,
  conversationOf,
  FORBIDDEN_CODE,
  READ_REQUIREMENTS,
  requirementOf,
} from "./roles";
export {
  answerPermission,
  type ConnectionEffects,
  type EffectHandles,
  NoConnectionError,
  type PermissionAnswers,
  runEffects,
  type ShareHandles,
} from "./run-effects";
