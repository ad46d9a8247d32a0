import type { Logger } from "@dispatch/kernel";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { PermissionGate, SearchAccess, Tool, ToolErrorCode, ToolResult } from "@dispatch/tools/contract";
import type { PendingToolCall } from "./step-content";
import { capOutput } from "./step-content";
import { AbortedError, guard, TimeoutError } from "./timeouts";

export interface ToolRunEnv {
  conversationId: string;
  turnId: string;
  cwd: string;
  /** The turn's permission grant, passed to the gate with every call. */
  grant?: { tools?: string[]; all?: boolean };
  tools: ReadonlyMap<string, Tool>;
  /** Absent only in bare setups: then every valid call runs (the daemon always installs a gate). */
  gate: PermissionGate | undefined;
  /** The turn's signal: aborting it aborts the gate's wait and the running tool. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Characters kept of a result, and streamed as `tool-output` per call. */
  outputCap: number;
  emit(event: AgentEvent): void;
  logger: Logger;
  /**
   * Called right before the tool executes (after validation and the gate) with the run id handed to
   * the tool (`ToolContext.runId`): the turn loop makes the call durable as started.
   */
  starting?(runId: string): void;
}

export interface ToolRunResult extends ToolResult {
  durationMs: number;
}

function fail(content: string, code?: ToolErrorCode): ToolResult {
  return code ? { content, isError: true, code } : { content, isError: true };
}

/**
 * Runs one tool call: unknown tool / unparsable arguments / failed validation → an error result the model
 * can read; then the permission gate (a deny is an error result); then `execute` under the tool timeout
 * and the turn's signal. Never throws: a tool (its validation included) or a gate that throws is reported
 * as an error result.
 */
export async function runToolCall(
  call: PendingToolCall,
  env: ToolRunEnv,
  clock: () => number,
): Promise<ToolRunResult> {
  const started = clock();
  let result: ToolResult;
  try {
    result = await runChecked(call, env);
  } catch (err) {
    // A tool's validate or the gate threw (a bug): the call still gets a result the model can read.
    env.logger.error("tool call failed before it ran", { tool: call.toolName, error: messageOf(err) });
    result = fail(`tool ${call.toolName} failed: ${messageOf(err)}`, "TOOL_IO_ERROR");
  }
  return {
    ...result,
    content: capOutput(result.content, env.outputCap),
    durationMs: Math.max(0, clock() - started),
  };
}

async function runChecked(call: PendingToolCall, env: ToolRunEnv): Promise<ToolResult> {
  if (env.signal.aborted)
    return fail(`tool ${call.toolName} was not run: the turn was stopped`, "TOOL_ABORTED");
  const tool = env.tools.get(call.toolName);
  if (!tool) {
    const names = [...env.tools.keys()].join(", ") || "none";
    return fail(`unknown tool "${call.toolName}"; available tools: ${names}`, "TOOL_INVALID_ARGS");
  }
  if (call.inputError !== undefined) {
    return fail(`invalid arguments for tool ${call.toolName}: ${call.inputError}`, "TOOL_INVALID_ARGS");
  }
  const checked = tool.validate(call.input);
  if (!checked.ok) return fail(checked.message, "TOOL_INVALID_ARGS");
  let access: SearchAccess | undefined;

  if (env.gate) {
    let subject: ReturnType<Tool["permission"]>;
    try {
      subject = tool.permission(checked.value, env.cwd);
    } catch (err) {
      return fail(`tool ${call.toolName} failed: ${messageOf(err)}`, "TOOL_IO_ERROR");
    }
    const verdict = await env.gate.check(
      {
        conversationId: env.conversationId,
        turnId: env.turnId,
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        input: call.input,
        cwd: env.cwd,
        subject,
        ...(env.grant ? { grant: env.grant } : {}),
      },
      { emit: env.emit, signal: env.signal },
    );
    if (env.signal.aborted)
      return fail(`tool ${call.toolName} was not run: the turn was stopped`, "TOOL_ABORTED");
    if (verdict.decision === "deny") {
      return fail(
        `permission denied for ${call.toolName}${verdict.reason ? `: ${verdict.reason}` : ""}`,
        "TOOL_PERMISSION_DENIED",
      );
    }
    // Search tools filter each entry by the path rules too, not only the folder the gate judged.
    access = verdict.searchAccess;
  }
  return execute(tool, checked.value, call, env, access);
}

async function execute(
  tool: Tool,
  args: unknown,
  call: PendingToolCall,
  env: ToolRunEnv,
  access: SearchAccess | undefined,
): Promise<ToolResult> {
  const controller = new AbortController();
  const signal = AbortSignal.any([env.signal, controller.signal]);
  let streamed = 0;
  let open = true;
  const runId = crypto.randomUUID();
  env.starting?.(runId);
  const running = Promise.resolve().then(() =>
    tool.execute(args, {
      conversationId: env.conversationId,
      turnId: env.turnId,
      toolCallId: call.toolCallId,
      cwd: env.cwd,
      runId,
      signal,
      ...(access ? { searchAccess: access } : {}),
      onOutput: (data, stream) => {
        // Output after the result, or past the cap, is dropped: the result is what the model reads.
        if (!open || streamed >= env.outputCap) return;
        const part = data.slice(0, env.outputCap - streamed);
        streamed += part.length;
        env.emit({
          type: "tool-output",
          conversationId: env.conversationId,
          turnId: env.turnId,
          toolCallId: call.toolCallId,
          data: part,
          stream,
        });
      },
    }),
  );
  try {
    return await guard(running, {
      ms: env.timeoutMs,
      signal: env.signal,
      onTimeout: () =>
        new TimeoutError("ORCH_TOOL_TIMEOUT", `tool ${call.toolName} timed out after ${env.timeoutMs} ms`),
    });
  } catch (err) {
    if (err instanceof TimeoutError) {
      controller.abort(err);
      return fail(err.message, "TOOL_TIMEOUT");
    }
    if (err instanceof AbortedError || env.signal.aborted) {
      return fail(`tool ${call.toolName} was stopped with the turn`, "TOOL_ABORTED");
    }
    env.logger.error("tool threw", {
      tool: call.toolName,
      toolCallId: call.toolCallId,
      error: messageOf(err),
    });
    return fail(`tool ${call.toolName} failed: ${messageOf(err)}`, "TOOL_IO_ERROR");
  } finally {
    open = false;
    running.catch(() => {});
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
