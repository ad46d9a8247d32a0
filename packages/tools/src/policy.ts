/**
 * The permission policy: its config schema (zod) and the pure decision of one call. The gate
 * (permission-gate.ts) adds the asking, the waiting and the per-conversation "always" memory.
 *
 * Decision order for a call:
 *   0. a file tool's path outside the cwd (or in /proc, /sys) is denied without asking: the file root
 *      (fs-root.ts) refuses such paths whatever the answer, so a prompt there could never be granted;
 *   1. the config rules that match it: the most restrictive wins (deny > ask > allow);
 *   2. else the per-tool action (`tools.<name>`);
 *   3. else, for MCP tools, the server's default (`subject.defaultAction`);
 *   4. else the default of its kind: read → allow, write → ask, shell → ask, mcp → ask.
 * A write to a protected path (protected-paths.ts) that this order does not deny asks, always.
 * Every "ask" that remains can succeed when the user answers allow.
 *
 * Rule `tools` entries are exact names or patterns where `*` matches anything (`mcp__github__*`).
 */

import * as path from "node:path";
import { z } from "zod";
import type { PermissionCheckRequest, PermissionKind, PermissionSubject, SearchAccess } from "./contract";
import { isInside, pseudoRootOf } from "./fs-root";
import { protectedRisk } from "./protected-paths";

export const PolicyAction = z.enum(["allow", "ask", "deny"]);
export type PolicyAction = z.infer<typeof PolicyAction>;

const validRegex = (s: string) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
};

export const PermissionRule = z.object({
  /** Tool names (or `*` patterns such as "mcp__github__*") the rule applies to; absent = every tool. */
  tools: z.array(z.string().min(1)).optional(),
  kinds: z.array(z.enum(["read", "write", "shell", "mcp"])).optional(),
  /** Path globs (Bun.Glob): absolute, or relative to the conversation's cwd. */
  paths: z.array(z.string().min(1)).optional(),
  /** Whole-command pattern where `*` matches anything, e.g. "git status*", "bun test*". */
  command: z.string().min(1).optional(),
  /** Regular expression searched in the command; anchor it ("^npm (test|run lint)\\b") as needed. */
  commandRegex: z.string().min(1).refine(validRegex, "must be a valid regular expression").optional(),
  action: PolicyAction,
});
export type PermissionRule = z.infer<typeof PermissionRule>;

export const PermissionConfig = z.object({
  /** How long a request waits for an answer before it is denied. */
  timeoutMs: z.number().int().positive().default(300_000),
  defaults: z
    .object({
      /** Reads inside the cwd (file tools never reach outside it: such calls are denied without asking). */
      read: PolicyAction.default("allow"),
      write: PolicyAction.default("ask"),
      shell: PolicyAction.default("ask"),
      /** MCP tools without a per-server default. */
      mcp: PolicyAction.default("ask"),
    })
    .prefault({}),
  /** Per-tool action, e.g. { "run_shell": "deny" }. */
  tools: z.record(z.string(), PolicyAction).default({}),
  rules: z.array(PermissionRule).default([]),
  /**
   * Further paths (absolute; each protects itself and everything below it) where writes always ask,
   * like .git/ and shell start-up files do. The daemon adds its data folder and its config file.
   */
  protectedPaths: z.array(z.string().min(1)).default([]),
});
export type PermissionConfig = z.infer<typeof PermissionConfig>;
export type PermissionConfigInput = z.input<typeof PermissionConfig>;

export interface PolicyDecision {
  action: PolicyAction;
  /** Human-readable: which rule or default decided. */
  why: string;
  /** A write to a protected path: it asks every time ("always" answers do not cover it). */
  protected?: true;
}

const SEVERITY: Record<PolicyAction, number> = { allow: 0, ask: 1, deny: 2 };

/** Shell control characters: an allow rule never matches a command containing them (chaining, subshells, redirects). */
const SHELL_CONTROL = /[;&|`$<>\n\r(){}]/;

/** Pure: a glob-like command pattern ("git status*") as an anchored regular expression. */
export function commandPatternRegex(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

/** Pure: whether a rule's tool entry (exact name, or a pattern with `*`) names `toolName`. */
export function toolPatternMatches(pattern: string, toolName: string): boolean {
  return pattern.includes("*") ? commandPatternRegex(pattern).test(toolName) : pattern === toolName;
}

/**
 * Pure: the matcher of a rule's path glob: absolute globs match absolute paths, others the path
 * relative to `cwd` (and nothing outside it). The gate and the search tools' per-entry filter share it.
 */
export function pathMatcher(glob: string, cwd: string): (p: string) => boolean {
  const g = new Bun.Glob(glob);
  if (path.isAbsolute(glob)) return (p) => g.match(p);
  return (p) => isInside(cwd, p) && g.match(path.relative(cwd, p) || ".");
}

function pathMatches(glob: string, p: string, cwd: string): boolean {
  return pathMatcher(glob, cwd)(p);
}

/** Pure: whether `rule` applies to the call (for an allow rule every path must match; otherwise any). */
function ruleMatches(rule: PermissionRule, req: PermissionCheckRequest): boolean {
  const { subject } = req;
  if (rule.tools && !rule.tools.some((t) => toolPatternMatches(t, req.toolName))) return false;
  if (rule.kinds && !rule.kinds.includes(subject.kind)) return false;
  const lenient = rule.action !== "allow";
  if (rule.paths) {
    const paths = subject.paths ?? [];
    if (paths.length === 0) return false;
    const hit = (p: string) => rule.paths?.some((g) => pathMatches(g, p, req.cwd)) ?? false;
    if (lenient ? !paths.some(hit) : !paths.every(hit)) return false;
  }
  if (rule.command !== undefined || rule.commandRegex !== undefined) {
    const command = subject.command;
    if (command === undefined) return false;
    if (!lenient && SHELL_CONTROL.test(command)) return false;
    if (rule.command !== undefined && !commandPatternRegex(rule.command).test(command.trim())) return false;
    if (rule.commandRegex !== undefined && !new RegExp(rule.commandRegex).test(command)) return false;
  }
  return true;
}

/** Pure: whether every path of the subject is inside `cwd` (lexically). */
function insideCwd(subject: PermissionSubject, cwd: string): boolean {
  return (subject.paths ?? []).every((p) => isInside(path.resolve(cwd), p));
}

const KIND_NOUN: Record<PermissionKind, string> = {
  read: "reads",
  write: "writes",
  shell: "shell commands",
  mcp: "MCP tools",
};

/** Pure: why the file root would refuse the subject's paths whatever the user answers, if it would. */
export function unreachable(subject: PermissionSubject, cwd: string): string | undefined {
  if (subject.kind === "shell") return undefined;
  if (!insideCwd(subject, cwd)) {
    return `the ${subject.kind} is outside the working directory ${path.resolve(cwd)}, which file tools never leave (start the conversation with a cwd that contains it)`;
  }
  const pseudo = (subject.paths ?? []).map(pseudoRootOf).find((r) => r !== undefined);
  return pseudo === undefined ? undefined : `file tools never touch ${pseudo} (process and kernel state)`;
}

/** Pure: the policy's action for one call. */
export function decide(config: PermissionConfig, req: PermissionCheckRequest): PolicyDecision {
  const refused = unreachable(req.subject, req.cwd);
  if (refused !== undefined) return { action: "deny", why: refused };
  const decided = decideByPolicy(config, req);
  if (req.subject.kind !== "write" || decided.action === "deny") return decided;
  const risk = (req.subject.paths ?? [])
    .map((p) => protectedRisk(p, config.protectedPaths))
    .find((r) => r !== undefined);
  return risk === undefined ? decided : { action: "ask", why: `protected path: ${risk}`, protected: true };
}

function decideByPolicy(config: PermissionConfig, req: PermissionCheckRequest): PolicyDecision {
  let best: { action: PolicyAction; index: number } | undefined;
  config.rules.forEach((rule, index) => {
    if (!ruleMatches(rule, req)) return;
    if (!best || SEVERITY[rule.action] > SEVERITY[best.action]) best = { action: rule.action, index };
  });
  if (best) return { action: best.action, why: `policy rule #${best.index + 1} says ${best.action}` };
  const perTool = config.tools[req.toolName];
  if (perTool) return { action: perTool, why: `policy for ${req.toolName} says ${perTool}` };
  const kind = req.subject.kind;
  if (kind === "mcp" && req.subject.defaultAction) {
    const a = req.subject.defaultAction;
    return { action: a, why: `the MCP server's default says ${a}` };
  }
  return { action: config.defaults[kind], why: `default for ${KIND_NOUN[kind]}: ${config.defaults[kind]}` };
}

/** Pure: a one-line description of what a call wants to do, for the permission request. */
export function describeSubject(req: PermissionCheckRequest): string {
  const { subject } = req;
  if (subject.kind === "shell") return `${req.toolName} wants to run: ${subject.command ?? "(no command)"}`;
  if (subject.kind === "mcp") return `${req.toolName} (an MCP server's tool) wants to run`;
  const shown = (subject.paths ?? []).map((p) =>
    isInside(req.cwd, p) ? path.relative(req.cwd, p) || "." : p,
  );
  return `${req.toolName} wants to ${subject.kind} ${shown.join(", ") || "(no path)"}`;
}

/** What an "always" answer remembers for the rest of the conversation. */
export type Remembered =
  | { toolName: string; kind: "shell"; command: string }
  /** MCP tools: any call of that tool. */
  | { toolName: string; kind: "mcp" }
  /** File tools: any path of the tool inside `within` (the cwd), or exactly `paths` outside it. */
  | { toolName: string; kind: "read" | "write"; within?: string; paths?: string[] };

/** Pure: the memory entry an "always" answer to `req` creates. */
export function rememberFor(req: PermissionCheckRequest): Remembered {
  const { subject, toolName } = req;
  if (subject.kind === "shell") return { toolName, kind: "shell", command: subject.command ?? "" };
  if (subject.kind === "mcp") return { toolName, kind: "mcp" };
  return insideCwd(subject, req.cwd)
    ? { toolName, kind: subject.kind, within: path.resolve(req.cwd) }
    : { toolName, kind: subject.kind, paths: subject.paths ?? [] };
}

/** Pure: whether a remembered "always" covers `req`. */
export function remembered(entry: Remembered, req: PermissionCheckRequest): boolean {
  if (entry.toolName !== req.toolName || entry.kind !== req.subject.kind) return false;
  if (entry.kind === "shell") return req.subject.command === entry.command;
  if (entry.kind === "mcp") return true;
  const paths = req.subject.paths ?? [];
  if (paths.length === 0) return false;
  if (entry.within !== undefined) {
    const within = entry.within;
    return paths.every((p) => isInside(within, p));
  }
  return paths.every((p) => entry.paths?.includes(p) ?? false);
}

/** Pure: a short description of what "always" would allow, shown with the request. */
export function describeRemembered(entry: Remembered): string {
  if (entry.kind === "shell") return `"always" allows exactly this command again in this conversation`;
  if (entry.kind === "mcp") return `"always" allows every call of ${entry.toolName} in this conversation`;
  if (entry.within !== undefined)
    return `"always" allows ${entry.toolName} anywhere in ${entry.within} for this conversation`;
  return `"always" allows ${entry.toolName} on these paths for this conversation`;
}

/**
 * Pure: the per-entry rules of an allowed read (search tools apply them to what they list and read):
 * the path-only rules that apply to the tool. Ask rules are dropped when `answered` is "anywhere" (an
 * "always" covers the tool in the cwd) and, for "asked" (the user allowed this call), those that
 * matched the call itself. Undefined when nothing is left to filter.
 */
export function searchAccess(
  config: PermissionConfig,
  req: PermissionCheckRequest,
  answered: "no" | "asked" | "anywhere",
): SearchAccess | undefined {
  if (req.subject.kind !== "read") return undefined;
  const deny: string[] = [];
  const ask: string[] = [];
  for (const rule of config.rules) {
    if (!rule.paths || rule.command !== undefined || rule.commandRegex !== undefined) continue;
    if (rule.tools && !rule.tools.some((t) => toolPatternMatches(t, req.toolName))) continue;
    if (rule.kinds && !rule.kinds.includes("read")) continue;
    if (rule.action === "deny") deny.push(...rule.paths);
    else if (rule.action === "ask") {
      if (answered === "anywhere" || (answered === "asked" && ruleMatches(rule, req))) continue;
      ask.push(...rule.paths);
    }
  }
  return deny.length + ask.length === 0 ? undefined : { cwd: req.cwd, deny, ask };
}

/** Pure: whether a remembered "always" covers the tool's reads anywhere in the call's cwd. */
export function rememberedAnywhere(entries: readonly Remembered[], req: PermissionCheckRequest): boolean {
  const cwd = path.resolve(req.cwd);
  return entries.some(
    (m) =>
      m.toolName === req.toolName &&
      m.kind === req.subject.kind &&
      (m.kind === "read" || m.kind === "write") &&
      m.within !== undefined &&
      isInside(m.within, cwd),
  );
}
