export { browserAccess } from "./access";
export * from "./config";
export * from "./contract";
export { generateToken, type TransportWsExtensionOptions, transportWsExtension } from "./extension";
export * from "./rate-limit";
export * from "./replies";
export * from "./router";
export { startWsServer, type WsServer, type WsServerDeps } from "./server";
export * from "./sessions";
