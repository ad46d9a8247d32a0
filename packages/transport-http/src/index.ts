export * from "./admission";
export * from "./config";
export * from "./contract";
export { errorResponse, failureFrom, type HttpFailure, statusForCode } from "./errors";
export { type HttpTransportExtensionOptions, httpTransportExtension } from "./extension";
export { belongsToTurn, endsTurn, turnEventStream } from "./ndjson";
export { allowedMethods, matchesPattern } from "./route-match";
