import type { Logger } from "@dispatch/kernel";
import type { AgentEvent, Usage } from "@dispatch/protocol/types";
import type { FinishReason, LanguageModel, ModelRequest, ProviderPart } from "@dispatch/providers/contract";
import { isProviderError } from "@dispatch/providers/contract";
import type { RetryPolicy, Timeouts } from "./config";
import { backoffDelay } from "./config";
import { messageOf } from "./run-tool";
import type { StepContent } from "./step-content";
import { AbortedError, sleep, TimeoutError, withStreamTimeouts } from "./timeouts";

export interface StreamStepEnv {
  model: LanguageModel;
  request: Omit<ModelRequest, "signal">;
  timeouts: Pick<Timeouts, "firstTokenMs" | "idleMs">;
  retry: RetryPolicy;
  /** Characters of text, reasoning and tool arguments the step may stream (ORCH_STEP_TOO_LARGE past it). */
  maxStepChars: number;
  /** The turn's signal. */
  signal: AbortSignal;
  conversationId: string;
  turnId: string;
  stepId: string;
  emit(event: AgentEvent): void;
  clock(): number;
  /** Gets a warn line per provider failure (code, status, URL, attempt); never message text. */
  logger?: Logger;
}

export interface StreamMetrics {
  ttftMs?: number;
  decodeMs?: number;
  genTotalMs: number;
}

export type StreamOutcome =
  | { kind: "finished"; finish: FinishReason | undefined; usage?: Usage; metrics: StreamMetrics }
  | { kind: "aborted"; usage?: Usage }
  | { kind: "failed"; message: string; code?: string; usage?: Usage };

/** Only ProviderError.retryable failures and our own first-token timeout are retried. */
function retryInfo(err: unknown): { retryable: boolean; code?: string; retryAfterMs?: number } {
  if (err instanceof TimeoutError)
    return { retryable: err.code === "ORCH_FIRST_TOKEN_TIMEOUT", code: err.code };
  if (isProviderError(err)) {
    return {
      retryable: err.retryable,
      code: err.code,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    };
  }
  return { retryable: false };
}

/**
 * Streams one model response into `content`, emitting deltas and tool calls as they arrive.
 *
 * Retries (with `provider-retry` events and backoff) only while nothing of this step was emitted and
 * only failures marked retryable (ProviderError.retryable, or our own first-token timeout). `usage`
 * parts are held back until the stream ends so a retried attempt never double-counts.
 */
export async function streamStep(env: StreamStepEnv, content: StepContent): Promise<StreamOutcome> {
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    const signal = AbortSignal.any([env.signal, controller.signal]);
    const started = env.clock();
    let firstAt: number | undefined;
    let finish: FinishReason | undefined;
    let usage: Usage | undefined;
    try {
      const source = env.model.stream({ ...env.request, signal });
      for await (const part of withStreamTimeouts(source, env.timeouts, env.signal, (e) =>
        controller.abort(e),
      )) {
        if (part.type === "usage") usage = part.usage;
        else if (part.type === "finish") finish = part.reason;
        else if ((part.type === "text-delta" || part.type === "reasoning-delta") && part.delta === "")
          continue;
        else if (part.type === "reasoning-signature") content.signReasoning(part.signature);
        // Arguments being written: the response is alive (the idle timer restarted); the call comes whole.
        // They count towards the step's cap: the provider layer accumulates them until the call is done.
        else if (part.type === "tool-input-delta") {
          firstAt ??= env.clock();
          content.chars += part.delta.length;
          if (content.chars > env.maxStepChars) {
            controller.abort();
            return tooLarge(env, usage);
          }
        } else {
          firstAt ??= env.clock();
          emitPart(env, content, part);
          if (content.chars > env.maxStepChars) {
            controller.abort();
            return tooLarge(env, usage);
          }
        }
      }
      if (env.signal.aborted) return { kind: "aborted", ...(usage ? { usage } : {}) };
      const ended = env.clock();
      return {
        kind: "finished",
        finish,
        ...(usage ? { usage } : {}),
        metrics: {
          ...(firstAt !== undefined ? { ttftMs: firstAt - started, decodeMs: ended - firstAt } : {}),
          genTotalMs: ended - started,
        },
      };
    } catch (err) {
      controller.abort();
      if (env.signal.aborted || err instanceof AbortedError)
        return { kind: "aborted", ...(usage ? { usage } : {}) };
      const info = retryInfo(err);
      const message = messageOf(err);
      const retrying = !content.hasContent && info.retryable && attempt < env.retry.maxAttempts;
      logProviderFailure(env, err, info.code, attempt, retrying);
      if (retrying) {
        // A server's retry-after is honoured up to the policy's longest delay.
        const delayMs = Math.min(
          Math.max(backoffDelay(attempt, env.retry), info.retryAfterMs ?? 0),
          env.retry.maxDelayMs,
        );
        env.emit({
          type: "provider-retry",
          conversationId: env.conversationId,
          turnId: env.turnId,
          attempt,
          delayMs,
          message,
          ...(info.code ? { code: info.code } : {}),
        });
        try {
          await sleep(delayMs, env.signal);
        } catch {
          return { kind: "aborted" };
        }
        continue;
      }
      return {
        kind: "failed",
        message,
        ...(info.code ? { code: info.code } : {}),
        ...(usage ? { usage } : {}),
      };
    }
  }
}

/** A provider that streams past the per-step cap: the step fails; what came before is kept. */
function tooLarge(env: StreamStepEnv, usage: Usage | undefined): StreamOutcome {
  return {
    kind: "failed",
    code: "ORCH_STEP_TOO_LARGE",
    message: `the model's response passed ${env.maxStepChars} characters in one step (text, reasoning and tool arguments; the maxStepChars setting); it was cut there`,
    ...(usage ? { usage } : {}),
  };
}

/** One warn line per failed provider attempt: what failed where, without the message's text. */
function logProviderFailure(
  env: StreamStepEnv,
  err: unknown,
  code: string | undefined,
  attempt: number,
  retrying: boolean,
): void {
  if (!env.logger) return;
  const provider = isProviderError(err) ? err : undefined;
  env.logger.warn("provider error", {
    model: env.model.name,
    code: code ?? "ORCH_PROVIDER_FAILED",
    ...(provider?.status !== undefined ? { status: provider.status } : {}),
    ...(provider?.url !== undefined ? { url: provider.url } : {}),
    attempt,
    retrying,
  });
}

function emitPart(
  env: StreamStepEnv,
  content: StepContent,
  part: Exclude<ProviderPart, { type: "usage" | "finish" | "reasoning-signature" | "tool-input-delta" }>,
) {
  const { conversationId, turnId } = env;
  switch (part.type) {
    case "text-delta":
      content.addText(part.delta);
      env.emit({ conversationId, turnId, type: "text-delta", delta: part.delta });
      return;
    case "reasoning-delta":
      content.addReasoning(part.delta);
      env.emit({ conversationId, turnId, type: "reasoning-delta", delta: part.delta });
      return;
    case "tool-call":
      content.addToolCall({
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        input: part.input,
        ...(part.inputError !== undefined ? { inputError: part.inputError } : {}),
      });
      env.emit({
        conversationId,
        turnId,
        type: "tool-call",
        stepId: env.stepId,
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        input: part.input,
      });
      return;
  }
}
