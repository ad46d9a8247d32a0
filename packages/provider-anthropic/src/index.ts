export { ANTHROPIC_KIND, anthropicKind } from "./anthropic";
