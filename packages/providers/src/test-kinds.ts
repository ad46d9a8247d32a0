import { anthropicKind } from "@dispatch/provider-anthropic";
import { localKind } from "@dispatch/provider-local";
import { openAICompatibleKind } from "@dispatch/provider-openai-compatible";
import { createProviderKinds } from "./kinds";

/** Test support: the daemon's kinds (its composition root is out of this package's reach). */
export const TEST_KINDS = createProviderKinds([
  anthropicKind,
  openAICompatibleKind,
  localKind({ delayMs: 0 }),
]);
