/**
 * The tools' extensions: the registry, one extension per built-in tool (each contributes through the
 * ToolRegistry handle), the permission gate, and the `permissions` surface. `toolsExtensions()` is the
 * whole set for the composition root.
 */

import { ConversationCatalog, PermissionRequests } from "@dispatch/conversation-store/contract";
import type { Extension, ExtensionContext } from "@dispatch/kernel";
import { SurfaceRegistry } from "@dispatch/surface-registry/contract";
import { z } from "zod";
import { PermissionGate, type Tool, ToolRegistry, ToolRuns, ToolsError } from "./contract";
import { type EditFileLimits, editFileTool } from "./edit-file";
import { type GlobLimits, globTool } from "./glob";
import { type GrepLimits, grepTool } from "./grep";
import { type ListDirLimits, listDirTool } from "./list-dir";
import { createPermissionGate } from "./permission-gate";
import { permissionsSurface } from "./permissions-surface";
import { PermissionConfig, type PermissionConfigInput } from "./policy";
import { type ReadFileLimits, readFileTool } from "./read-file";
import { createToolRegistry } from "./registry";
import { killInterruptedRun, type RunShellLimits, runShellTool } from "./run-shell";
import { writeFileTool } from "./write-file";

const VERSION = "0.1.0";
export const TOOLS_EXTENSION_ID = "tools";
export const PERMISSION_GATE_EXTENSION_ID = "permission-gate";
export const PERMISSIONS_SURFACE_EXTENSION_ID = "permissions-surface";

/** Provides the ToolRegistry every tool extension registers into, and the boot clean-up of their runs. */
export function toolRegistryExtension(): Extension {
  return {
    manifest: { id: TOOLS_EXTENSION_ID, version: VERSION, provides: [ToolRegistry, ToolRuns] },
    activate(ctx) {
      ctx.provide(ToolRegistry, createToolRegistry());
      ctx.provide(ToolRuns, { killInterrupted: killInterruptedRun });
    },
  };
}

/** `ctx.config` as an object (absent → {}); anything else is TOOLS_INVALID_CONFIG. */
function configObject(ctx: ExtensionContext): Record<string, unknown> {
  if (ctx.config === undefined || ctx.config === null) return {};
  if (typeof ctx.config !== "object" || Array.isArray(ctx.config)) {
    throw new ToolsError("TOOLS_INVALID_CONFIG", `config of extension "${ctx.id}" must be an object`);
  }
  return ctx.config as Record<string, unknown>;
}

/** Runs `parse`, turning a zod failure into TOOLS_INVALID_CONFIG naming the extension and the fields. */
function parseConfig<T>(ctx: ExtensionContext, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof z.ZodError) {
      throw new ToolsError(
        "TOOLS_INVALID_CONFIG",
        `invalid config of extension "${ctx.id}": ${z.prettifyError(e)}`,
      );
    }
    throw e;
  }
}

/**
 * An extension contributing one tool. `create` receives the extension's config section (an object;
 * the factory options are the defaults it overrides) and returns the tool.
 */
export function toolExtension(id: string, create: (config: Record<string, unknown>) => Tool): Extension {
  return {
    manifest: { id, version: VERSION, needs: [ToolRegistry] },
    activate(ctx) {
      const tool = parseConfig(ctx, () => create(configObject(ctx)));
      ctx.scope.add(ctx.get(ToolRegistry).register(tool));
    },
  };
}

export const readFileExtension = (limits: Partial<ReadFileLimits> = {}) =>
  toolExtension("tool-read-file", (config) => readFileTool({ ...limits, ...config }));
export const listDirExtension = (limits: Partial<ListDirLimits> = {}) =>
  toolExtension("tool-list-dir", (config) => listDirTool({ ...limits, ...config }));
export const globExtension = (limits: Partial<GlobLimits> = {}) =>
  toolExtension("tool-glob", (config) => globTool({ ...limits, ...config }));
export const grepExtension = (limits: Partial<GrepLimits> = {}) =>
  toolExtension("tool-grep", (config) => grepTool({ ...limits, ...config }));
export const writeFileExtension = () => toolExtension("tool-write-file", () => writeFileTool());
export const editFileExtension = (limits: Partial<EditFileLimits> = {}) =>
  toolExtension("tool-edit-file", (config) => editFileTool({ ...limits, ...config }));
export const runShellExtension = (limits: Partial<RunShellLimits> = {}) =>
  toolExtension("tool-run-shell", (config) => runShellTool({ ...limits, ...config }));

export interface BuiltinToolsOptions {
  readFile?: Partial<ReadFileLimits>;
  listDir?: Partial<ListDirLimits>;
  glob?: Partial<GlobLimits>;
  grep?: Partial<GrepLimits>;
  editFile?: Partial<EditFileLimits>;
  runShell?: Partial<RunShellLimits>;
  /** Tool names to leave out, e.g. ["run_shell"]. */
  exclude?: string[];
}

/** One extension per built-in tool (read_file, list_dir, glob, grep, write_file, edit_file, run_shell). */
export function builtinToolExtensions(opts: BuiltinToolsOptions = {}): Extension[] {
  const all: [string, Extension][] = [
    ["read_file", readFileExtension(opts.readFile)],
    ["list_dir", listDirExtension(opts.listDir)],
    ["glob", globExtension(opts.glob)],
    ["grep", grepExtension(opts.grep)],
    ["write_file", writeFileExtension()],
    ["edit_file", editFileExtension(opts.editFile)],
    ["run_shell", runShellExtension(opts.runShell)],
  ];
  const excluded = new Set(opts.exclude ?? []);
  return all.filter(([name]) => !excluded.has(name)).map(([, ext]) => ext);
}

export interface PermissionGateExtensionOptions {
  /** Defaults that the extension's config section (host config["permission-gate"]) overrides. */
  config?: PermissionConfigInput;
  clock?: () => number;
  newId?: () => string;
}

/**
 * Provides the PermissionGate. Config: PermissionConfig (timeoutMs, defaults, tools, rules). Pending
 * requests are persisted through the conversation store when one is installed. On shutdown every
 * pending request is denied.
 */
export function permissionGateExtension(opts: PermissionGateExtensionOptions = {}): Extension {
  return {
    manifest: {
      id: PERMISSION_GATE_EXTENSION_ID,
      version: VERSION,
      provides: [PermissionGate],
      optionalNeeds: [PermissionRequests],
    },
    activate(ctx) {
      const config = parseConfig(ctx, () => PermissionConfig.parse({ ...opts.config, ...configObject(ctx) }));
      const store = ctx.tryGet(PermissionRequests);
      const gate = createPermissionGate({
        config,
        logger: ctx.logger,
        ...(store ? { store } : {}),
        ...(opts.clock ? { clock: opts.clock } : {}),
        ...(opts.newId ? { newId: opts.newId } : {}),
      });
      ctx.provide(PermissionGate, gate);
      ctx.scope.add(() => gate.denyAll("the daemon is shutting down"));
    },
  };
}

export interface PermissionsSurfaceExtensionOptions {
  /** Where frontends place the surface; default "composer". */
  region?: string;
}

/** Registers the per-conversation `permissions` surface (pending requests with allow/deny/always buttons). */
export function permissionsSurfaceExtension(opts: PermissionsSurfaceExtensionOptions = {}): Extension {
  return {
    manifest: {
      id: PERMISSIONS_SURFACE_EXTENSION_ID,
      version: VERSION,
      needs: [PermissionGate, SurfaceRegistry],
      optionalNeeds: [ConversationCatalog],
    },
    activate(ctx) {
      // Titles for the global view; without a store the conversation id is shown.
      const conversations = ctx.tryGet(ConversationCatalog);
      const titleOf = (id: string) => conversations?.getConversation(id)?.title;
      const provider = permissionsSurface(ctx.get(PermissionGate), opts.region, titleOf);
      ctx.scope.add(ctx.get(SurfaceRegistry).register(provider));
    },
  };
}

export interface ToolsExtensionsOptions {
  tools?: BuiltinToolsOptions;
  permissions?: PermissionGateExtensionOptions;
  /** The permissions surface options, or false to leave it out (e.g. no surface registry installed). */
  surface?: PermissionsSurfaceExtensionOptions | false;
}

/** The registry, the built-in tools, the permission gate and the permissions surface. */
export function toolsExtensions(opts: ToolsExtensionsOptions = {}): Extension[] {
  return [
    toolRegistryExtension(),
    ...builtinToolExtensions(opts.tools),
    permissionGateExtension(opts.permissions),
    ...(opts.surface === false ? [] : [permissionsSurfaceExtension(opts.surface)]),
  ];
}
