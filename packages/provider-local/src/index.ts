export { LocalSectionSchema, localKind } from "./local";
export { LOCAL_ECHO, LOCAL_INTRO, LOCAL_SLOW, type LocalModelOptions } from "./local-model";
