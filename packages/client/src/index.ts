export * from "./backoff";
export * from "./connect";
export * from "./cursor";
export * from "./http";
export * from "./ndjson";
export * from "./socket";
