export * from "./anthropic-server";
export * from "./imports";
export * from "./openai-server";
export * from "./prometheus";
export * from "./redis-server";
export * from "./scripted-server";
export * from "./wait";
