import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import type { z } from "zod";
import {
  EXTENSION_SECTION_IDS,
  type FileConfig,
  fileConfigSchema,
  LOG_LEVELS,
  type LogLevel,
  MIN_TOKEN_LENGTH,
  PORT_MSG,
} from "./config-schema";

/** The daemon's effective configuration: defaults, then the file, then environment, then arguments. */
export interface DaemonConfig {
  host: string;
  httpPort: number;
  wsPort: number;
  /** Fixed token (file `token` or DISPATCH_TOKEN); absent = a new random token per start. */
  token?: string;
  allowedOrigins: string[];
  allowedHosts: string[];
  requireTokenForBrowsers: boolean;
  trustLocalBrowsers: boolean;
  /** `[web] root` as written (relative to the config file; made absolute by `loadConfig`). */
  webRoot?: string;
  log: { level: LogLevel; maxBytes: number; keep: number };
  /** The `[ws]` table without `port`, as written: limits handed to transport-ws. */
  ws: Record<string, unknown>;
  /** The `[http]` table without `port`, as written: limits handed to transport-http. */
  http: Record<string, unknown>;
  /** Extension sections as written in the file, keyed by extension id, passed through as their config. */
  sections: Record<string, Record<string, unknown>>;
}

/** Settings given on the command line; strings, validated like the environment. */
export interface ConfigArgs {
  httpPort?: string;
  wsPort?: string;
  host?: string;
  logLevel?: string;
}

export const DEFAULT_HTTP_PORT = 24203;
export const DEFAULT_WS_PORT = 24205;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_LOG = { level: "info", maxBytes: 5 * 1024 * 1024, keep: 3 } as const;

export type ConfigResult = { ok: true; config: DaemonConfig } | { ok: false; errors: string[] };

/** A validated file: the typed view plus the raw tables, which extensions receive as written. */
export interface ParsedFile {
  value: FileConfig;
  raw: Record<string, unknown>;
}

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
      for (const key of issue.keys) lines.push(`${source}: ${keyPath([...issue.path, key])}: unknown key`);
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
): { ok: true; value: ParsedFile } | { ok: false; errors: string[] } {
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text, { unsafeKeyBehaviour: "throw" }) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0] ?? "invalid TOML";
      return { ok: false, errors: [`${source}:${e.line}:${e.column}: ${first}`] };
    }
    return { ok: false, errors: [`${source}: ${e instanceof Error ? e.message : String(e)}`] };
  }
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: formatIssues(source, parsed.error.issues) };
  return { ok: true, value: { value: parsed.data, raw } };
}

type Env = Record<string, string | undefined>;

/** A value from the environment or the command line, with the name to report it by. */
interface Override {
  label: string;
  value: string | undefined;
}

function pick(...candidates: Override[]): Override | undefined {
  for (const c of candidates) {
    const v = c.value?.trim();
    if (v) return { label: c.label, value: v };
  }
  return undefined;
}

function portFrom(o: Override | undefined, errors: string[]): number | undefined {
  if (o?.value === undefined) return undefined;
  const n = /^\d{1,5}$/.test(o.value) ? Number(o.value) : Number.NaN;
  if (!Number.isInteger(n) || n > 65535) {
    errors.push(`${o.label}: ${PORT_MSG}`);
    return undefined;
  }
  return n;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Pure: the effective config from the validated file (or `{ value: {}, raw: {} }`), the environment
 * and command-line settings. Later sources win; bad values are reported as `environment: NAME: …` or
 * `argument --name: …`.
 */
export function resolveConfig(file: ParsedFile, env: Env, args: ConfigArgs = {}): ConfigResult {
  const f = file.value;
  const errors: string[] = [];
  const httpPort =
    portFrom(
      pick(
        { label: "argument --http-port", value: args.httpPort },
        { label: "environment: DISPATCH_HTTP_PORT", value: env.DISPATCH_HTTP_PORT },
      ),
      errors,
    ) ??
    f.http?.port ??
    DEFAULT_HTTP_PORT;
  const wsPort =
    portFrom(
      pick(
        { label: "argument --ws-port", value: args.wsPort },
        { label: "environment: DISPATCH_WS_PORT", value: env.DISPATCH_WS_PORT },
      ),
      errors,
    ) ??
    f.ws?.port ??
    DEFAULT_WS_PORT;
  const host =
    pick(
      { label: "argument --host", value: args.host },
      { label: "environment: DISPATCH_HOST", value: env.DISPATCH_HOST },
    )?.value ??
    f.host ??
    DEFAULT_HOST;

  let level: LogLevel = f.log?.level ?? DEFAULT_LOG.level;
  const levelOverride = pick(
    { label: "argument --log-level", value: args.logLevel },
    { label: "environment: DISPATCH_LOG_LEVEL", value: env.DISPATCH_LOG_LEVEL },
  );
  if (levelOverride?.value !== undefined) {
    const v = levelOverride.value.toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(v)) level = v as LogLevel;
    else errors.push(`${levelOverride.label}: expected one of ${LOG_LEVELS.join(", ")}`);
  }

  let token = f.token;
  const envToken = env.DISPATCH_TOKEN?.trim();
  if (envToken) {
    if (envToken.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(envToken)) {
      errors.push(
        `environment: DISPATCH_TOKEN: expected at least ${MIN_TOKEN_LENGTH} printable characters (≥128 bits)`,
      );
    } else token = envToken;
  }
  if (errors.length > 0) return { ok: false, errors };

  const sections: Record<string, Record<string, unknown>> = {};
  for (const id of EXTENSION_SECTION_IDS) {
    const section = file.raw[id];
    if (isTable(section)) sections[id] = section;
  }
  const { port: _wsPort, ...wsRest } = isTable(file.raw.ws) ? file.raw.ws : {};
  const { port: _httpPort, ...httpRest } = isTable(file.raw.http) ? file.raw.http : {};

  const config: DaemonConfig = {
    host,
    httpPort,
    wsPort,
    allowedOrigins: f.allowedOrigins ?? [],
    allowedHosts: f.allowedHosts ?? [],
    requireTokenForBrowsers: f.requireTokenForBrowsers ?? false,
    trustLocalBrowsers: f.trustLocalBrowsers ?? false,
    log: {
      level,
      maxBytes: f.log?.maxBytes ?? DEFAULT_LOG.maxBytes,
      keep: f.log?.keep ?? DEFAULT_LOG.keep,
    },
    ws: wsRest,
    http: httpRest,
    sections,
  };
  if (token !== undefined) config.token = token;
  if (f.web?.root !== undefined) config.webRoot = f.web.root;
  return { ok: true, config };
}

/**
 * Reads the config file (absent is fine unless it was named explicitly) and resolves it with `env`
 * and `args`. Every problem is one line naming the file (or the variable/argument) and the key path.
 */
export async function loadConfig(
  file: { path: string; explicit: boolean },
  env: Env,
  args: ConfigArgs = {},
): Promise<ConfigResult> {
  const handle = Bun.file(file.path);
  let parsed: ParsedFile = { value: {}, raw: {} };
  if (await handle.exists()) {
    let text: string;
    try {
      text = await handle.text();
    } catch (e) {
      return { ok: false, errors: [`${file.path}: cannot read: ${e instanceof Error ? e.message : e}`] };
    }
    const r = parseConfigFile(file.path, text);
    if (!r.ok) return r;
    parsed = r.value;
  } else if (file.explicit) {
    return {
      ok: false,
      errors: [`${file.path}: config file not found (named by DISPATCH_CONFIG or --config)`],
    };
  }
  const r = resolveConfig(parsed, env, args);
  if (r.ok && r.config.webRoot !== undefined) {
    // A missing web root is a startup error naming the key, not a silent 404 for every page.
    const root = resolve(dirname(file.path), r.config.webRoot);
    if (!existsSync(root) || !statSync(root).isDirectory())
      return { ok: false, errors: [`${file.path}: web.root: folder not found: ${root}`] };
    r.config.webRoot = root;
  }
  return r;
}
