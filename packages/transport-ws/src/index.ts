export * from "./config";
export * from "./contract";
export { generateToken, type TransportWsExtensionOptions, transportWsExtension } from "./extension";
export * from "./rate-limit";
export * from "./render";
export * from "./replies";
export { startWsServer, type WsServer, type WsServerDeps } from "./server";
