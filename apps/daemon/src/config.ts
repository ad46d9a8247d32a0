import { parse as parseToml, TomlError } from "smol-toml";
import type { z } from "zod";
import {
  type FileConfig,
  fileConfigSchema,
  LOG_LEVELS,
  type LogLevel,
  MIN_TOKEN_LENGTH,
  PORT_MSG,
} from "./config-schema";

/** The daemon's effective configuration: file, then environment on top, then defaults. */
export interface DaemonConfig {
  host: string;
  httpPort: number;
  wsPort: number;
  /** Fixed token (file `token` or DISPATCH_TOKEN); absent = a new random token per start. */
  token?: string;
  allowedOrigins: string[];
  allowedHosts: string[];
  requireTokenForBrowsers: boolean;
  maxBodyBytes?: number;
  log: { level: LogLevel; maxBytes: number; keep: number };
  /** DISPATCH_BASE_URL / DISPATCH_API_KEY / DISPATCH_MODEL, handed to the providers extension. */
  providerEnv: { baseUrl?: string; apiKey?: string; model?: string };
  /** Extension sections from the file, keyed by extension id, passed through as their config. */
  sections: Record<string, Record<string, unknown>>;
}

export const DEFAULT_HTTP_PORT = 24203;
export const DEFAULT_WS_PORT = 24205;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_LOG = { level: "info", maxBytes: 5 * 1024 * 1024, keep: 3 } as const;

const PASS_THROUGH = [
  "providers",
  "tools",
  "session-orchestrator",
  "conversation-store",
  "surface-registry",
] as const;

export type ConfigResult = { ok: true; config: DaemonConfig } | { ok: false; errors: string[] };

/** Pure: `a.b[2].c` from a zod path. */
function keyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += (out ? "." : "") + String(part);
  }
  return out;
}

/** Pure: one line per problem, each naming the source, the key path and what was expected. */
export function formatIssues(source: string, issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        lines.push(`${source}: ${keyPath([...issue.path, key])}: unknown key`);
      }
    } else {
      lines.push(`${source}: ${keyPath(issue.path) || "(root)"}: ${issue.message}`);
    }
  }
  return lines;
}

/** Pure: parses and validates the TOML text of the config file; `source` names it in errors. */
export function parseConfigFile(
  source: string,
  text: string,
): { ok: true; value: FileConfig } | { ok: false; errors: string[] } {
  let raw: unknown;
  try {
    raw = parseToml(text, { unsafeKeyBehaviour: "throw" });
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0] ?? "invalid TOML";
      return { ok: false, errors: [`${source}:${e.line}:${e.column}: ${first}`] };
    }
    return { ok: false, errors: [`${source}: ${e instanceof Error ? e.message : String(e)}`] };
  }
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: formatIssues(source, parsed.error.issues) };
  return { ok: true, value: parsed.data };
}

type Env = Record<string, string | undefined>;

function envPort(env: Env, name: string, errors: string[]): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n > 65535) {
    errors.push(`environment: ${name}: ${PORT_MSG}`);
    return undefined;
  }
  return n;
}

function envString(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/**
 * Pure: the effective config from the validated file (or `{}`) and the environment. Environment values
 * override the file; bad environment values are reported as `environment: NAME: problem`.
 */
export function resolveConfig(file: FileConfig, env: Env): ConfigResult {
  const errors: string[] = [];
  const httpPort = envPort(env, "DISPATCH_HTTP_PORT", errors) ?? file.http?.port ?? DEFAULT_HTTP_PORT;
  const wsPort = envPort(env, "DISPATCH_WS_PORT", errors) ?? file.ws?.port ?? DEFAULT_WS_PORT;
  const host = envString(env, "DISPATCH_HOST") ?? file.host ?? DEFAULT_HOST;

  let level: LogLevel = file.log?.level ?? DEFAULT_LOG.level;
  const envLevel = envString(env, "DISPATCH_LOG_LEVEL")?.toLowerCase();
  if (envLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(envLevel)) level = envLevel as LogLevel;
    else errors.push(`environment: DISPATCH_LOG_LEVEL: expected one of ${LOG_LEVELS.join(", ")}`);
  }

  let token = file.token;
  const envToken = envString(env, "DISPATCH_TOKEN");
  if (envToken !== undefined) {
    if (envToken.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(envToken)) {
      errors.push(
        `environment: DISPATCH_TOKEN: expected at least ${MIN_TOKEN_LENGTH} printable characters (≥128 bits)`,
      );
    } else token = envToken;
  }
  if (errors.length > 0) return { ok: false, errors };

  const sections: Record<string, Record<string, unknown>> = {};
  for (const id of PASS_THROUGH) {
    const section = file[id];
    if (section) sections[id] = section;
  }
  const providerEnv: DaemonConfig["providerEnv"] = {};
  const baseUrl = envString(env, "DISPATCH_BASE_URL");
  const apiKey = envString(env, "DISPATCH_API_KEY");
  const model = envString(env, "DISPATCH_MODEL");
  if (baseUrl) providerEnv.baseUrl = baseUrl;
  if (apiKey) providerEnv.apiKey = apiKey;
  if (model) providerEnv.model = model;

  const config: DaemonConfig = {
    host,
    httpPort,
    wsPort,
    allowedOrigins: file.allowedOrigins ?? [],
    allowedHosts: file.allowedHosts ?? [],
    requireTokenForBrowsers: file.requireTokenForBrowsers ?? false,
    log: {
      level,
      maxBytes: file.log?.maxBytes ?? DEFAULT_LOG.maxBytes,
      keep: file.log?.keep ?? DEFAULT_LOG.keep,
    },
    providerEnv,
    sections,
  };
  if (token !== undefined) config.token = token;
  if (file.http?.maxBodyBytes !== undefined) config.maxBodyBytes = file.http.maxBodyBytes;
  return { ok: true, config };
}

/**
 * Reads the config file (absent is fine unless it was named explicitly) and resolves it with `env`.
 * Every problem is one line naming the file (or "environment") and the key path.
 */
export async function loadConfig(file: { path: string; explicit: boolean }, env: Env): Promise<ConfigResult> {
  const handle = Bun.file(file.path);
  let fileConfig: FileConfig = {};
  if (await handle.exists()) {
    let text: string;
    try {
      text = await handle.text();
    } catch (e) {
      return { ok: false, errors: [`${file.path}: cannot read: ${e instanceof Error ? e.message : e}`] };
    }
    const parsed = parseConfigFile(file.path, text);
    if (!parsed.ok) return parsed;
    fileConfig = parsed.value;
  } else if (file.explicit) {
    return { ok: false, errors: [`${file.path}: config file not found (named by DISPATCH_CONFIG)`] };
  }
  return resolveConfig(fileConfig, env);
}
