export { parseWsConfig, type WsConfig, type WsConfigInput, WsConfigSchema } from "./config";
export * from "./contract";
export { type TransportWsExtensionOptions, transportWsExtension } from "./extension";
export { parseFailureFrame, repliesFrames, replyFrames } from "./render";
export { startWsServer, type WsServer, type WsServerDeps } from "./server";
