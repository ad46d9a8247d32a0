import { anthropicKind } from "@dispatch/provider-anthropic";
import { localKind } from "@dispatch/provider-local";
import { openAICompatibleKind } from "@dispatch/provider-openai-compatible";
import { createProviderKinds, type ProviderKind } from "@dispatch/providers";

/**
 * The provider kinds the daemon installs: one line per kind. Order matters only for the environment:
 * with both ANTHROPIC_API_KEY and OPENAI_API_KEY set, `anthropic` comes first (and is the default).
 */
export const DAEMON_PROVIDER_KINDS: readonly ProviderKind[] = [
  anthropicKind,
  openAICompatibleKind,
  localKind(),
];

/** The same kinds as a registry, for the config file's schema. */
export const daemonProviderKinds = createProviderKinds(DAEMON_PROVIDER_KINDS);
