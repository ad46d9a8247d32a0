/**
 * The `[mcp]` config section (zod, strict: an unknown key or a bad value stops the daemon naming it)
 * and the pure resolution of `${VAR}` references in `env` and `headers` values.
 *
 *   [mcp.servers.github]                       [mcp.servers.files]
 *   url = "http://127.0.0.1:8080/mcp"          command = "bunx"
 *   headers = { Authorization = "Bearer ${GITHUB_TOKEN}" }   args = ["my-mcp-server", "/srv"]
 *   permission = "allow"                       startup = "lazy"
 *
 * `${NAME}` in an `env` or `headers` value is replaced by the daemon's environment variable NAME when
 * the server starts (`$${` writes a literal `${`). Resolved values are handed to the server only:
 * never logged, never shown in a status or error message (those name the variable, not its value).
 */

import { z } from "zod";

/** Server names become part of tool names (`mcp__<server>__<tool>`), so they are kept to [A-Za-z0-9_-]. */
export const SERVER_NAME = /^[A-Za-z0-9-]+(_[A-Za-z0-9-]+)*$/;

const action = z.enum(["allow", "ask", "deny"], { error: "expected allow, ask or deny" });
const positiveInt = z
  .number({ error: "expected a positive integer (ms)" })
  .int({ error: "expected a positive integer (ms)" })
  .positive({ error: "expected a positive integer (ms)" });
const stringMap = z.record(z.string(), z.string({ error: "expected a string" }), {
  error: "expected a table",
});

export const McpServerConfig = z
  .strictObject(
    {
      /** stdio: the program to run (looked up on PATH) and its arguments. */
      command: z.string({ error: "expected a string" }).min(1, { error: "expected a command" }).optional(),
      args: z
        .array(z.string({ error: "expected a string" }), { error: "expected a list of strings" })
        .optional(),
      /** stdio: extra environment of the server (the daemon's own environment is not passed on). */
      env: stringMap.optional(),
      /** stdio: working directory of the server; default the daemon's. */
      cwd: z.string({ error: "expected a path" }).min(1, { error: "expected a path" }).optional(),
      /** Streamable HTTP: the endpoint URL, and headers sent with every request. */
      url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
      headers: stringMap.optional(),
      enabled: z.boolean({ error: "expected true or false" }).default(true),
      /** Per-call timeout; on expiry the call is cancelled (notifications/cancelled) and fails. */
      timeoutMs: positiveInt.default(60_000),
      /** How long connecting and listing the tools may take. */
      startupTimeoutMs: positiveInt.default(30_000),
      /** eager: at daemon start; lazy: when the first turn starts. */
      startup: z.enum(["eager", "lazy"], { error: "expected eager or lazy" }).default("eager"),
      /** The gate's action for this server's tools when no rule or per-tool action decides. */
      permission: action.default("ask"),
    },
    { error: "expected a table" },
  )
  .superRefine((s, ctx) => {
    const stdio = s.command !== undefined;
    const http = s.url !== undefined;
    if (stdio === http) {
      ctx.addIssue({
        code: "custom",
        message: "expected exactly one of command (stdio) or url (Streamable HTTP)",
      });
      return;
    }
    const misplaced = stdio ? (["headers"] as const) : (["args", "env", "cwd"] as const);
    for (const key of misplaced) {
      if (s[key] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `not allowed for ${stdio ? "stdio" : "url"} servers`,
        });
    }
  });
export type McpServerConfig = z.output<typeof McpServerConfig>;

export const McpConfig = z.strictObject(
  {
    servers: z
      .record(
        z.string().regex(SERVER_NAME, { error: "server names use letters, digits, - and single _" }),
        McpServerConfig,
        { error: "expected a table of servers" },
      )
      .default({}),
  },
  { error: "expected a table" },
);
export type McpConfig = z.output<typeof McpConfig>;
export type McpConfigInput = z.input<typeof McpConfig>;

export type Interpolated = { ok: true; value: string } | { ok: false; missing: string };

/** Pure: `${NAME}` replaced from `env`; the first unset or empty variable is reported by name. */
export function interpolate(text: string, env: Record<string, string | undefined>): Interpolated {
  let missing: string | undefined;
  const value = text.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name?: string) => {
    if (name === undefined) return "${";
    const v = env[name];
    if (v === undefined || v === "") missing ??= name;
    return v ?? "";
  });
  return missing === undefined ? { ok: true, value } : { ok: false, missing };
}

/**
 * Pure: every value of `map` interpolated. A failure names the key and the variable (not a value):
 * `headers.Authorization names GITHUB_TOKEN, which is not set`.
 */
export function interpolateAll(
  map: Record<string, string> | undefined,
  what: string,
  env: Record<string, string | undefined>,
): { ok: true; value: Record<string, string> } | { ok: false; message: string } {
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(map ?? {})) {
    const r = interpolate(text, env);
    if (!r.ok) return { ok: false, message: `${what}.${key} names ${r.missing}, which is not set` };
    out[key] = r.value;
  }
  return { ok: true, value: out };
}
