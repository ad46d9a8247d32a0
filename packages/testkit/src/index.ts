export * from "./anthropic-server";
export * from "./openai-server";
export * from "./prometheus";
export * from "./scripted-server";
export * from "./wait";
