import type { Extension } from "@dispatch/kernel";
import { createModelCatalog } from "./catalog";
import { resolveProvidersConfig } from "./config";
import { ModelCatalog, ProviderError } from "./contract";
import { LOCAL_CREDENTIAL, type LocalModelOptions } from "./local-model";

export interface ProvidersExtensionOptions {
  /** Environment to read DISPATCH_* and provider keys from (default `process.env`); tests inject their own. */
  env?: Record<string, string | undefined>;
  /** Offline model settings; override the `local` section of the config. */
  local?: LocalModelOptions;
}

export const PROVIDERS_EXTENSION_ID = "providers";

/**
 * Provides `ModelCatalog`. Reads the `providers` config section and the environment, lists the models of
 * credentials without configured models (`GET /models`, short timeout, failures only logged), and
 * logs what it found: credential names and model counts, never keys.
 */
export function providersExtension(options: ProvidersExtensionOptions = {}): Extension {
  return {
    manifest: { id: PROVIDERS_EXTENSION_ID, version: "0.1.0" },
    async activate(ctx) {
      const resolved = resolveProvidersConfig(ctx.config, options.env ?? process.env);
      if (!resolved.ok) throw new ProviderError("PROVIDER_INVALID_CONFIG", resolved.message);
      const config = resolved.value;
      const catalog = createModelCatalog({
        config,
        logger: ctx.logger,
        ...(options.local ? { local: options.local } : {}),
      });
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
        offlineOnly: config.credentials.length === 0 && defaultModel.startsWith(`${LOCAL_CREDENTIAL}/`),
      });
      ctx.provide(ModelCatalog, catalog);
    },
  };
}
