export { clampReasoning, OPENAI_COMPATIBLE_KIND, openAICompatibleKind } from "./openai-compatible";
