import { ConversationStoreConfigSchema } from "@dispatch/conversation-store";
import { providersConfigSchema } from "@dispatch/providers";
import { RelayPublishConfigSchema } from "@dispatch/relay-publish/contract";
import { OrchestratorConfigSchema } from "@dispatch/session-orchestrator";
import {
  EditFileLimits,
  GlobLimits,
  GrepLimits,
  ListDirLimits,
  PermissionConfig,
  ReadFileLimits,
  RunShellLimits,
} from "@dispatch/tools";
import { McpConfig } from "@dispatch/tools-mcp";
import { HttpTransportConfigSchema } from "@dispatch/transport-http";
import { WsConfigSchema } from "@dispatch/transport-ws";
import { z } from "zod";
import { daemonProviderKinds } from "./provider-kinds";

/**
 * The daemon's configuration file (`dispatch.toml`). Strict: an unknown key is an error, so a typo is
 * reported at startup instead of being silently ignored. Sections named after an extension id are
 * handed to that extension as its config; where the extension exports its schema it is checked here
 * too, so a mistake there is also reported with the file and key path before anything starts.
 */

const PORT_MSG = "expected integer 0..65535";
const port = () =>
  z
    .number({ error: PORT_MSG })
    .int({ error: PORT_MSG })
    .min(0, { error: PORT_MSG })
    .max(65535, { error: PORT_MSG });

const positiveInt = (what: string) =>
  z
    .number({ error: `expected a positive integer (${what})` })
    .int({ error: `expected a positive integer (${what})` })
    .positive({ error: `expected a positive integer (${what})` });

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
const LEVEL_MSG = `expected one of ${LOG_LEVELS.join(", ")}`;
export const logLevelSchema = z.enum(LOG_LEVELS, { error: LEVEL_MSG });

/** A configured token must carry at least 128 bits: 22+ characters of base64url or similar. */
export const MIN_TOKEN_LENGTH = 22;
const tokenSchema = z
  .string({ error: "expected a string" })
  .min(MIN_TOKEN_LENGTH, { error: `expected at least ${MIN_TOKEN_LENGTH} characters (≥128 bits)` })
  .regex(/^[\x21-\x7e]+$/, { error: "expected printable ASCII without spaces" });

const hostSchema = z
  .string({ error: "expected a host name or IP address" })
  .min(1, { error: "expected a host name or IP address" });

const stringList = (what: string) =>
  z.array(z.string({ error: `expected a list of ${what}` }).min(1), { error: `expected a list of ${what}` });

/** A table handed to an extension that validates it itself. */
const extensionSection = z.record(z.string(), z.unknown(), { error: "expected a table" });

/** Sections passed through to the extension of the same id (checked here when it exports a schema). */
const extensionSections = {
  "conversation-store": ConversationStoreConfigSchema,
  providers: providersConfigSchema(daemonProviderKinds).optional(),
  "session-orchestrator": OrchestratorConfigSchema.optional(),
  "permission-gate": PermissionConfig.strict().optional(),
  "surface-registry": extensionSection.optional(),
  "tool-read-file": ReadFileLimits.partial().strict().optional(),
  "tool-list-dir": ListDirLimits.partial().strict().optional(),
  "tool-glob": GlobLimits.partial().strict().optional(),
  "tool-grep": GrepLimits.partial().strict().optional(),
  "tool-edit-file": EditFileLimits.partial().strict().optional(),
  "tool-run-shell": RunShellLimits.partial().strict().optional(),
  /** `[mcp.servers.<name>]`: MCP tool servers (stdio or Streamable HTTP). */
  mcp: McpConfig.optional(),
  /** `[relay]`: publish shared conversations to Redis for `dispatch relay` nodes. */
  relay: RelayPublishConfigSchema.optional(),
};

/** Ids of the extension sections a config file may hold. */
export const EXTENSION_SECTION_IDS = Object.keys(extensionSections);

export const fileConfigSchema = z.strictObject({
  /** Bind address of both ports. Non-loopback makes the token mandatory for every client. */
  host: hostSchema.optional(),
  /** A fixed token instead of a new random one per start. */
  token: tokenSchema.optional(),
  /** Extra allowed browser origins (e.g. `tauri://localhost`), added to the defaults. */
  allowedOrigins: stringList("origins").optional(),
  /** Extra Host header names accepted when bound to a non-loopback address. */
  allowedHosts: stringList("host names").optional(),
  /** Require the token from allow-listed browser origins too. */
  requireTokenForBrowsers: z.boolean({ error: "expected true or false" }).optional(),
  /**
   * Admit allowed-origin loopback browsers without proving that their socket belongs to the daemon's
   * user. Risky: any local user's process can then forge an Origin and act as you.
   */
  trustLocalBrowsers: z.boolean({ error: "expected true or false" }).optional(),
  /** The web frontend served from the HTTP port. */
  web: z
    .strictObject(
      {
        /** A folder with a single-page app (index.html); relative to the config file. */
        root: z
          .string({ error: "expected a folder path" })
          .min(1, { error: "expected a folder path" })
          .optional(),
      },
      { error: "expected a table" },
    )
    .optional(),
  /** The HTTP port and its limits (bind, token and origins come from the top level). */
  http: HttpTransportConfigSchema.pick({ maxBodyBytes: true, idleTimeoutSec: true, streams: true })
    .partial()
    .extend({ port: port().optional() })
    .optional(),
  /** The WebSocket port and its limits (bind, token and origins come from the top level). */
  ws: WsConfigSchema.omit({
    host: true,
    token: true,
    allowedOrigins: true,
    httpOrigins: true,
    httpPort: true,
    allowedHosts: true,
    requireTokenForBrowsers: true,
  })
    .extend({ port: port().optional() })
    .optional(),
  log: z
    .strictObject(
      {
        level: logLevelSchema.optional(),
        /** Rotate daemon.log when it passes this many bytes. */
        maxBytes: positiveInt("bytes").optional(),
        /** How many rotated files to keep. */
        keep: positiveInt("files").optional(),
      },
      { error: "expected a table" },
    )
    .optional(),
  ...extensionSections,
});

export type FileConfig = z.infer<typeof fileConfigSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
export { PORT_MSG };
