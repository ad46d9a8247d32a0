/**
 * The tools contract: what a tool is, the registry tools contribute through, and the permission gate
 * every tool call passes. The session orchestrator codes against this file only:
 *
 *   tool.validate(args) → gate.check(req, io) → tool.execute(value, ctx)
 *
 * A failed validation or a deny becomes an error tool result the model can read.
 */

import type { Disposer, Result as KernelResult } from "@dispatch/kernel";
import { defineService } from "@dispatch/kernel";
import type {
  AgentEvent,
  AgentEventOf,
  PermissionDecision,
  ToolOutputStream,
} from "@dispatch/protocol/types";

/** `{ ok: true, value } | { ok: false, error }`: expected failures are values. */
export type Result<T, E> = KernelResult<T, E>;

/** What one tool call runs with. */
export interface ToolContext {
  readonly conversationId: string;
  readonly turnId: string;
  readonly toolCallId: string;
  /** The conversation's effective working directory; file tools refuse paths outside it. */
  readonly cwd: string;
  /** Aborted when the turn stops; a tool returns promptly (run_shell kills its process group). */
  readonly signal: AbortSignal;
  /**
   * This call's run id, recorded durably (as started) before `execute`: run_shell marks every process
   * it starts with it, so boot recovery can find what a crashed daemon left running. Absent: the tool
   * makes its own.
   */
  readonly runId?: string;
  /** Streams partial output while the tool runs (the orchestrator emits `tool-output` events). */
  onOutput(data: string, stream: ToolOutputStream): void;
  /** The path rules search tools apply per entry (from the gate's verdict); absent: no filtering. */
  readonly searchAccess?: SearchAccess;
}

/**
 * The path rules a search tool (glob, grep, list_dir) applies to each entry it lists and each file it
 * reads, because the gate's check judges only the folder searched. Plain data: grep hands it to its
 * worker. Deny-covered entries are neither listed nor read; ask-covered files are listed by name but
 * not read (grep says how many it skipped: read_file, or grep on that path, asks for them).
 */
export interface SearchAccess {
  /** The cwd the rules' relative globs are relative to (the call's cwd as given). */
  cwd: string;
  /** Path globs of the deny rules that apply to the tool. */
  deny: string[];
  /** Path globs of the ask rules that apply to the tool and were not answered for this call. */
  ask: string[];
}

/** Error codes a tool reports in `ToolResult.code` (the model reads `content`; tests assert `code`). */
export const ToolErrorCodes = [
  /** The arguments do not match the tool's parameters (from `validate`). */
  "TOOL_INVALID_ARGS",
  /** `ctx.cwd` is not an existing directory. */
  "TOOL_CWD_INVALID",
  /** A path resolves (after symlinks) outside the cwd. */
  "TOOL_PATH_OUTSIDE_CWD",
  "TOOL_PATH_NOT_FOUND",
  /** A file was expected and something else is there (or the reverse). */
  "TOOL_PATH_WRONG_TYPE",
  "TOOL_BINARY_FILE",
  "TOOL_FILE_TOO_LARGE",
  /** write_file without `overwrite: true` on an existing file. */
  "TOOL_FILE_EXISTS",
  "TOOL_EDIT_NO_MATCH",
  "TOOL_EDIT_AMBIGUOUS",
  "TOOL_EDIT_NO_CHANGE",
  "TOOL_INVALID_PATTERN",
  /** run_shell: the command ran past its timeout; the process group was killed. */
  "TOOL_TIMEOUT",
  /** The turn was stopped while the tool ran. */
  "TOOL_ABORTED",
  /** run_shell: the command exited non-zero or was killed by a signal. */
  "TOOL_COMMAND_FAILED",
  /** The gate denied the call (set by the orchestrator when it builds the deny result). */
  "TOOL_PERMISSION_DENIED",
  /** An MCP server is not running (starting, restarting after a crash, failed or disabled). */
  "TOOL_UNAVAILABLE",
  /** An MCP server answered with an error result, a protocol error or a malformed result. */
  "TOOL_REMOTE_ERROR",
  /** An unexpected I/O failure; the message carries the system error. */
  "TOOL_IO_ERROR",
] as const;
export type ToolErrorCode = (typeof ToolErrorCodes)[number];

/** An image a tool returned (MCP image content), base64-encoded. */
export interface ToolImage {
  data: string;
  mimeType: string;
}

export interface ToolResult {
  content: string;
  isError: boolean;
  /**
   * Images for models with vision: stored after the tool-result chunk as image chunks and sent to such
   * models with the result (others see only `content`, which describes them in text).
   */
  images?: ToolImage[];
  /** Set on errors; not sent to the model (it reads `content`). */
  code?: ToolErrorCode;
}

/** `mcp`: a call of a tool served by an MCP server (the gate cannot see what it touches). */
export type PermissionKind = "read" | "write" | "shell" | "mcp";

/**
 * What a call touches, for the gate's policy. Paths are absolute, resolved against the cwd with the
 * symlinks of their existing part followed (inside the cwd they are expressed under the cwd as given).
 */
export interface PermissionSubject {
  kind: PermissionKind;
  paths?: string[];
  command?: string;
  /** kind "mcp": the server's configured default action, used when no rule or per-tool action decides. */
  defaultAction?: "allow" | "ask" | "deny";
}

export type Validation<A> = { ok: true; value: A } | { ok: false; message: string };

/** The JSON-serialisable description of a tool sent to the model. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object (no TypeBox symbol keys). */
  parameters: Record<string, unknown>;
}

export interface Tool<A = unknown> extends ToolSpec {
  /** Calls of an exclusive tool never run concurrently with other calls of the same turn. */
  exclusive?: boolean;
  /** Checks the model's arguments; the message names the tool, the field path and the problem. */
  validate(args: unknown): Validation<A>;
  /** What the call touches (no side effects; file tools look up symlinks). `cwd` is the effective cwd. */
  permission(args: A, cwd: string): PermissionSubject;
  /** Never throws for expected failures: they are `isError` results with a `code`. */
  execute(args: A, ctx: ToolContext): Promise<ToolResult>;
}

export interface ToolRegistry {
  /** Throws ToolsError TOOLS_DUPLICATE_TOOL when a tool of that name is registered (a wiring bug). */
  register(tool: Tool): Disposer;
  /** Registered tools in registration order. */
  list(): Tool[];
  get(name: string): Tool | undefined;
}
export const ToolRegistry = defineService<ToolRegistry>("tools/registry");

/**
 * What tool calls leave behind a crash. The orchestrator calls it at boot, for each run the store found
 * interrupted, before any turn resumes.
 */
export interface ToolRuns {
  /** Kills whatever the run with id `runId` (ToolContext.runId) left running; returns how many processes. */
  killInterrupted(runId: string): number;
}
export const ToolRuns = defineService<ToolRuns>("tools/runs");

// ───────────────────────────── permission gate ─────────────────────────────

export interface PermissionCheckRequest {
  conversationId: string;
  turnId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
  cwd: string;
  subject: PermissionSubject;
  /** The turn's grant (`--allow`, `--yes`): turns "ask" into "allow" for the tools it names. */
  grant?: { tools?: string[]; all?: boolean };
}

export interface PermissionIO {
  /** Receives `permission-request` and then `permission-resolved` when the gate asks the user. */
  emit(event: AgentEvent): void;
  /** Aborting it (the turn stopped) resolves a pending request as deny. */
  signal: AbortSignal;
}

export interface PermissionVerdict {
  decision: "allow" | "deny";
  /** Why, for the deny result the model reads (e.g. "denied by the user"). */
  reason?: string;
  /** An allowed read: the path rules its entries still pass (the orchestrator puts it in ToolContext). */
  searchAccess?: SearchAccess;
}

export type PermissionRequestEvent = AgentEventOf<"permission-request">;

export const PermissionErrorCodes = ["PERMISSION_UNKNOWN_REQUEST", "PERMISSION_INVALID_DECISION"] as const;
export type PermissionErrorCode = (typeof PermissionErrorCodes)[number];
export interface PermissionError {
  code: PermissionErrorCode;
  message: string;
}

export interface PermissionGate {
  /**
   * Decides one call from the policy and the conversation's "always" memory. When the policy says ask,
   * emits `permission-request`, waits for `resolve`, the timeout (→ deny) or `io.signal` (→ deny), then
   * emits `permission-resolved` and returns. Never rejects.
   */
  check(req: PermissionCheckRequest, io: PermissionIO): Promise<PermissionVerdict>;
  /** Answers a pending request; `always` allows and remembers the tool + subject for the conversation. */
  resolve(
    conversationId: string,
    requestId: string,
    decision: PermissionDecision,
    /** A deny's reason, as the tool result shows it; default "denied by the user". */
    reason?: string,
  ): Result<void, PermissionError>;
  /** The still-pending requests of a conversation, oldest first (re-sent to late subscribers). */
  pending(conversationId: string): PermissionRequestEvent[];
  /** Every pending request of every conversation, oldest first within each conversation. */
  allPending(): PermissionRequestEvent[];
  /** Called with the conversation id whenever its pending set changes. */
  onPendingChanged(listener: (conversationId: string) => void): Disposer;
}
export const PermissionGate = defineService<PermissionGate>("tools/permission-gate");

/** The per-conversation surface listing pending requests with allow / deny / always buttons. */
export const PERMISSIONS_SURFACE_ID = "permissions";

// ───────────────────────────── programming errors ─────────────────────────────

export const ToolsErrorCodes = ["TOOLS_DUPLICATE_TOOL", "TOOLS_INVALID_CONFIG"] as const;
export type ToolsErrorCode = (typeof ToolsErrorCodes)[number];

/** Thrown for wiring bugs only (duplicate tool names, invalid config at activation). */
export class ToolsError extends Error {
  override readonly name = "ToolsError";
  readonly code: ToolsErrorCode;
  constructor(code: ToolsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
