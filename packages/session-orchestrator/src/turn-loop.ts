import type { AppendMessage } from "@dispatch/conversation-store/contract";
import type { Logger } from "@dispatch/kernel";
import type { AgentEvent, DoneReason, QueuedMessage, ReasoningEffort, Usage } from "@dispatch/protocol/types";
import type { FinishReason, LanguageModel } from "@dispatch/providers/contract";
import type { PermissionGate, Tool } from "@dispatch/tools/contract";
import type { OrchestratorConfig } from "./config";
import type { HistoryCache } from "./history-cache";
import { type InflightFlushes, InflightWriter } from "./inflight-writer";
import { steeringMessages } from "./queue";
import { runToolCall, type ToolRunResult } from "./run-tool";
import { type PendingToolCall, resultChunk, resultImageChunks, StepContent } from "./step-content";
import type { OrchestratorStores } from "./stores";
import { type StreamMetrics, streamStep } from "./stream-step";
import { dispatchInOrder } from "./tool-dispatch";
import { addUsage } from "./usage";

export interface TurnEnv {
  store: Pick<OrchestratorStores, "log" | "turns">;
  /** The conversation's model-facing history, held across steps; each step's write extends it. */
  history: Pick<HistoryCache, "read" | "appended">;
  /** The in-flight flush timer shared by all running steps (absent: one timer per step). */
  flushes?: InflightFlushes;
  model: LanguageModel;
  /** The tools offered to the model, read at the start of every step. */
  tools(): Tool[];
  gate: PermissionGate | undefined;
  config: OrchestratorConfig;
  logger: Logger;
  /** Monotonic milliseconds, for metrics. */
  clock(): number;
}

export interface TurnInput {
  conversationId: string;
  turnId: string;
  cwd: string;
  /** Permission the turn's starter granted (PROTOCOL TurnGrant); never stored. */
  grant?: { tools?: string[]; all?: boolean };
  reasoningEffort?: ReasoningEffort;
  system?: string;
  /** Aborted by stop, close and shutdown. */
  signal: AbortSignal;
  emit(event: AgentEvent): void;
  /**
   * The queued messages to deliver as steering now (called at tool-result boundaries only). They stay
   * queued: the step's write dequeues them, then `steeringDelivered` is called.
   */
  pendingSteering(): QueuedMessage[];
  /** The step carrying `messages` is persisted (and they left the durable queue in its transaction). */
  steeringDelivered(messages: QueuedMessage[]): void;
}

export interface TurnOutcome {
  reason: DoneReason;
  steps: number;
  usage?: Usage;
  /** Input + output tokens of the last step: what the context holds now. */
  contextSize?: number;
  /** Input tokens of the last step (drives automatic compaction). */
  lastInputTokens?: number;
  error?: { message: string; code?: string };
  metrics: { steps: number; genTotalMs: number; toolMs: number };
}

type StepResult =
  | { kind: "continue" }
  | { kind: "end"; reason: DoneReason }
  | { kind: "aborted" }
  | { kind: "error"; message: string; code?: string };

const FINISH_TO_DONE: Record<FinishReason, DoneReason> = {
  stop: "stop",
  "tool-calls": "stop",
  length: "length",
  "content-filter": "content-filter",
  error: "error",
  other: "other",
};

/**
 * Runs the steps of one turn until the model stops calling tools, the step cap, an error or an abort.
 * Every finished (or cut-short) step is persisted in one store transaction before the next one starts.
 * Emits everything between `turn-start` and `done`; the caller emits `done` and `turn-sealed`.
 */
export async function runTurnLoop(env: TurnEnv, input: TurnInput): Promise<TurnOutcome> {
  const acc: Omit<TurnOutcome, "reason"> = { steps: 0, metrics: { steps: 0, genTotalMs: 0, toolMs: 0 } };
  const end = (reason: DoneReason, error?: { message: string; code?: string }): TurnOutcome => ({
    ...acc,
    reason,
    ...(error ? { error } : {}),
  });
  for (let index = 1; index <= env.config.maxSteps; index++) {
    const r = await runStep(env, input, index, acc);
    if (r.kind === "aborted") return end("aborted");
    if (r.kind === "error") return end("error", { message: r.message, ...(r.code ? { code: r.code } : {}) });
    if (r.kind === "end") return end(r.reason);
  }
  return end("max-steps");
}

async function runStep(
  env: TurnEnv,
  input: TurnInput,
  index: number,
  acc: Omit<TurnOutcome, "reason">,
): Promise<StepResult> {
  const { conversationId, turnId } = input;
  const base = { conversationId, turnId };
  const stepId = `${turnId}.${index}`;
  const fail = (message: string, code?: string): StepResult => {
    input.emit({ ...base, type: "error", message, ...(code ? { code } : {}) });
    return { kind: "error", message, ...(code ? { code } : {}) };
  };

  const history = env.history.read();
  if (!history.ok) return fail(`cannot load history: ${history.error.message}`, "ORCH_STORE_FAILED");
  const tools = env.tools();
  const toolMap = new Map(tools.map((t) => [t.name, t]));
  const messageId = crypto.randomUUID();
  const inflight = new InflightWriter({
    store: env.store.turns,
    ...(env.flushes ? { flushes: env.flushes } : {}),
    conversationId,
    step: { turnId, stepId, messageId },
    flushMs: env.config.inflightFlushMs,
    flushChars: env.config.inflightFlushChars,
    logger: env.logger,
  });
  const content = new StepContent(stepId, inflight);
  inflight.attach(content);

  acc.steps = index;
  acc.metrics.steps = index;
  const streamed = await streamStep(
    {
      model: env.model,
      request: {
        messages: history.value,
        tools: tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters })),
        ...(input.system !== undefined ? { system: input.system } : {}),
        ...(input.reasoningEffort ? { reasoningEffort: input.reasoningEffort } : {}),
      },
      timeouts: env.config.timeouts,
      retry: env.config.retry,
      maxStepChars: env.config.maxStepChars,
      signal: input.signal,
      conversationId,
      turnId,
      stepId,
      emit: input.emit,
      clock: env.clock,
      logger: env.logger,
    },
    content,
  );
  if (streamed.usage) recordUsage(input, acc, stepId, streamed.usage);

  const persist = (
    results: ToolRunResult[],
    steering: QueuedMessage[] = [],
    error?: { message: string; code?: string },
  ) => {
    inflight.close();
    return persistStep(env, input, content, { stepId, messageId }, results, steering, error);
  };

  if (streamed.kind === "aborted") {
    const notRun = closeUnrun(input, content.toolCalls, stepId, "not run: the turn was stopped");
    return persist(notRun) ?? { kind: "aborted" };
  }
  if (streamed.kind === "failed") {
    const r = fail(streamed.message, streamed.code);
    const notRun = closeUnrun(input, content.toolCalls, stepId, "not run: the model response failed");
    return (
      persist(notRun, [], { message: streamed.message, ...(streamed.code ? { code: streamed.code } : {}) }) ??
      r
    );
  }
  acc.metrics.genTotalMs += streamed.metrics.genTotalMs;
  if (streamed.finish === "error" && content.toolCalls.length === 0) {
    const message = "the model ended its response with an error";
    const r = fail(message, "ORCH_PROVIDER_ERROR");
    return persist([], [], { message, code: "ORCH_PROVIDER_ERROR" }) ?? r;
  }

  if (content.toolCalls.length === 0) {
    const failed = persist([]);
    if (failed) return failed;
    stepComplete(input, stepId, streamed.metrics);
    return { kind: "end", reason: FINISH_TO_DONE[streamed.finish ?? "stop"] };
  }

  // The calls are durable before any runs: a crash from here on leaves them in the history.
  inflight.flush();
  const toolsStarted = env.clock();
  const results = await dispatchInOrder(
    content.toolCalls,
    {
      concurrency: env.config.toolConcurrency,
      isExclusive: (c) => toolMap.get(c.toolName)?.exclusive === true,
    },
    async (call) => {
      const r = await runToolCall(
        call,
        {
          ...base,
          cwd: input.cwd,
          ...(input.grant ? { grant: input.grant } : {}),
          tools: toolMap,
          gate: env.gate,
          signal: input.signal,
          timeoutMs: env.config.timeouts.toolMs,
          outputCap: env.config.toolOutputCap,
          emit: input.emit,
          logger: env.logger,
          starting: (runId) => inflight.toolStarting(call.toolCallId, runId),
        },
        env.clock,
      );
      emitResult(input, call, stepId, r);
      return r;
    },
  );
  acc.metrics.toolMs += env.clock() - toolsStarted;

  const aborted = input.signal.aborted;
  // Nothing is awaited between reading the queue and the write: no cancel can slip in between.
  const steering = !aborted && index < env.config.maxSteps ? input.pendingSteering() : [];
  const failed = persist(results, steering);
  // A failed write leaves the messages queued (store and mirror): the next turn carries them.
  if (failed) return failed;
  if (steering.length > 0) {
    input.steeringDelivered(steering);
    for (const m of steering) input.emit({ ...base, type: "steering", text: m.text });
  }
  stepComplete(input, stepId, streamed.metrics);
  return aborted ? { kind: "aborted" } : { kind: "continue" };
}

function recordUsage(input: TurnInput, acc: Omit<TurnOutcome, "reason">, stepId: string, usage: Usage): void {
  input.emit({ conversationId: input.conversationId, turnId: input.turnId, type: "usage", usage, stepId });
  acc.usage = addUsage(acc.usage, usage);
  acc.contextSize = usage.inputTokens + usage.outputTokens;
  acc.lastInputTokens = usage.inputTokens;
}

function stepComplete(input: TurnInput, stepId: string, m: StreamMetrics): void {
  input.emit({
    conversationId: input.conversationId,
    turnId: input.turnId,
    type: "step-complete",
    stepId,
    ...m,
  });
}

function emitResult(input: TurnInput, call: PendingToolCall, stepId: string, r: ToolRunResult): void {
  input.emit({
    conversationId: input.conversationId,
    turnId: input.turnId,
    type: "tool-result",
    stepId,
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    content: r.content,
    isError: r.isError,
    durationMs: r.durationMs,
  });
}

/** Error results (emitted and returned) for tool calls that were streamed but will never run. */
function closeUnrun(
  input: TurnInput,
  calls: PendingToolCall[],
  stepId: string,
  why: string,
): ToolRunResult[] {
  return calls.map((call) => {
    const r: ToolRunResult = { content: `tool ${call.toolName} ${why}`, isError: true, durationMs: 0 };
    emitResult(input, call, stepId, r);
    return r;
  });
}

/**
 * Writes the step (assistant content, tool results, steering messages) in one transaction, which also
 * removes the steering messages from the durable queue: delivered exactly once, or still queued.
 */
function persistStep(
  env: TurnEnv,
  input: TurnInput,
  content: StepContent,
  ids: { stepId: string; messageId: string },
  results: ToolRunResult[],
  steering: QueuedMessage[],
  error?: { message: string; code?: string },
): StepResult | undefined {
  const { turnId } = input;
  const { stepId } = ids;
  const messages: AppendMessage[] = [];
  const assistant = content.assistantChunks(error);
  if (assistant.length > 0) {
    messages.push({ messageId: ids.messageId, role: "assistant", chunks: assistant, turnId });
  }
  if (results.length > 0) {
    const chunks = content.toolCalls.flatMap((call, i) => [
      resultChunk(call, stepId, results[i]!),
      ...resultImageChunks(results[i]!),
    ]);
    messages.push({ messageId: crypto.randomUUID(), role: "tool", chunks, turnId });
  }
  messages.push(...steeringMessages(steering, turnId));
  if (messages.length === 0) return undefined;
  const dequeue = steering.map((m) => m.messageId);
  // The step replaces its in-flight rows in the same transaction.
  const r = env.store.log.appendStep(
    input.conversationId,
    messages,
    {},
    dequeue.length > 0 ? { dequeue, settleInflight: true, view: true } : { settleInflight: true, view: true },
  );
  if (r.ok) {
    env.history.appended(r.value);
    return undefined;
  }
  env.logger.error("step not persisted", {
    conversationId: input.conversationId,
    turnId,
    error: r.error.message,
  });
  const message = `step ${stepId} was not persisted: ${r.error.message}`;
  input.emit({
    conversationId: input.conversationId,
    turnId,
    type: "error",
    message,
    code: "ORCH_STORE_FAILED",
  });
  return { kind: "error", message, code: "ORCH_STORE_FAILED" };
}
