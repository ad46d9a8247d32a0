import type { BuiltinKind, ModelEntry } from "@dispatch/providers";
import { z } from "zod";
import { createLocalModel, LOCAL_CREDENTIAL, LOCAL_ECHO, type LocalModelOptions } from "./local-model";

/** The `providers.local` section. */
export const LocalSectionSchema = z
  .object({
    delayMs: z.number().int().nonnegative().optional(),
    slowDelayMs: z.number().int().nonnegative().optional(),
    contextWindow: z.number().int().positive().optional(),
  })
  .strict();

const DEFAULTS = { delayMs: 5, slowDelayMs: 60, contextWindow: 32_768 };

/**
 * The offline models `local/echo` and `local/slow` (no network, no AI): always installed under the
 * reserved credential `local`, the default when no credential is configured. `overrides` beat the
 * config section (tests and benches run them at delay 0).
 */
export function localKind(
  overrides: LocalModelOptions = {},
): { type: "builtin" } & BuiltinKind<LocalModelOptions | undefined> {
  const settingsOf = (section: LocalModelOptions | undefined) => ({ ...DEFAULTS, ...section, ...overrides });
  const delays = (s: ReturnType<typeof settingsOf>): Record<string, number> => ({
    echo: s.delayMs,
    slow: s.slowDelayMs,
  });
  return {
    type: "builtin",
    id: "local",
    credential: LOCAL_CREDENTIAL,
    label: "offline",
    section: LocalSectionSchema,
    defaultModel: LOCAL_ECHO,
    models(section): ModelEntry[] {
      const s = settingsOf(section);
      return Object.keys(delays(s)).map((id) => ({
        name: `${LOCAL_CREDENTIAL}/${id}`,
        info: { contextWindow: s.contextWindow, vision: false },
      }));
    },
    createModel(entry, section) {
      const s = settingsOf(section);
      const id = entry.name.slice(LOCAL_CREDENTIAL.length + 1);
      return createLocalModel(entry.name, delays(s)[id] ?? s.delayMs, entry.info);
    },
  };
}
