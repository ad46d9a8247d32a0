import type { Extension } from "@dispatch/kernel";
import { createModelCatalog, isBuiltinModel } from "./catalog";
import { resolveProvidersConfig } from "./config";
import { ModelCatalog, ProviderError } from "./contract";
import { type ProviderKind, ProviderKinds } from "./kind-contract";
import { createProviderKinds } from "./kinds";

export interface ProvidersExtensionOptions {
  /**
   * The provider kinds to install (`provider-openai-compatible`, `provider-anthropic`,
   * `provider-local`, …), in order: earlier kinds' environment credentials come first.
   */
  kinds: readonly ProviderKind[];
  /** Environment to read DISPATCH_* and provider keys from (default `process.env`); tests inject their own. */
  env?: Record<string, string | undefined>;
}

export const PROVIDERS_EXTENSION_ID = "providers";

/**
 * Provides `ProviderKinds` (the installed kinds) and `ModelCatalog`. Reads the `providers` config
 * section and the environment, lists the models of credentials without configured models (through
 * their kind, short timeout, failures only logged), and logs what it found: credential names and
 * model counts, never keys.
 */
export function providersExtension(options: ProvidersExtensionOptions): Extension {
  return {
    manifest: { id: PROVIDERS_EXTENSION_ID, version: "0.1.0", provides: [ProviderKinds, ModelCatalog] },
    async activate(ctx) {
      const kinds = createProviderKinds(options.kinds);
      const resolved = resolveProvidersConfig(ctx.config, options.env ?? process.env, kinds);
      if (!resolved.ok) throw new ProviderError("PROVIDER_INVALID_CONFIG", resolved.message);
      const config = resolved.value;
      const catalog = createModelCatalog({ config, kinds, logger: ctx.logger });
      await catalog.refresh();
      const entries = catalog.list();
      const defaultModel = catalog.defaultModel();
      for (const c of config.credentials) {
        const count = entries.filter((e) => e.name.startsWith(`${c.name}/`)).length;
        if (c.missingKeyEnv) {
          ctx.logger.warn("credential has no API key", { credential: c.name, env: c.missingKeyEnv });
        } else if (count === 0) {
          ctx.logger.warn("credential has no known models; name them in the config or set DISPATCH_MODEL", {
            credential: c.name,
          });
        }
      }
      const check = catalog.resolve(defaultModel);
      if (!check.ok)
        ctx.logger.warn("default model does not resolve", { defaultModel, reason: check.error.message });
      ctx.logger.info("model catalog ready", {
        credentials: config.credentials.map((c) => `${c.name} (${c.kind}, ${c.source})`),
        models: entries.length,
        defaultModel,
        offlineOnly: config.credentials.length === 0 && isBuiltinModel(kinds, defaultModel),
      });
      ctx.provide(ProviderKinds, kinds);
      ctx.provide(ModelCatalog, catalog);
    },
  };
}
