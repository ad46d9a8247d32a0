import { z } from "zod";

const positiveInt = z.number().int().positive();

export const RetryPolicySchema = z
  .object({
    /** Attempts per step including the first; 1 disables retries. */
    maxAttempts: positiveInt.default(3),
    initialDelayMs: z.number().int().nonnegative().default(500),
    maxDelayMs: z.number().int().nonnegative().default(8_000),
    factor: z.number().min(1).default(2),
  })
  .strict();
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

export const TimeoutsSchema = z
  .object({
    /** Longest wait from sending a model request to its first streamed part. */
    firstTokenMs: positiveInt.default(120_000),
    /** Longest silence between two streamed parts. */
    idleMs: positiveInt.default(120_000),
    /** Longest run of one tool call (its result then says it timed out). */
    toolMs: positiveInt.default(600_000),
  })
  .strict();
export type Timeouts = z.infer<typeof TimeoutsSchema>;

/** The orchestrator's config section (host `config["session-orchestrator"]`). Every field has a default. */
export const OrchestratorConfigSchema = z
  .object({
    /** Steps per turn before the turn ends with `done` reason `max-steps`. */
    maxSteps: positiveInt.default(50),
    timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})),
    /** Tool calls of one step running at the same time (exclusive tools always run alone). */
    toolConcurrency: positiveInt.default(4),
    /** Characters of one tool result kept in history and sent to the model; the rest is cut with a note. */
    toolOutputCap: positiveInt.default(50_000),
    /** Messages one conversation may have waiting for its running turn; more are refused (ORCH_QUEUE_FULL). */
    maxQueuedMessages: positiveInt.default(100),
    /** Events of one turn kept for late joiners and `resume`. */
    replayBufferLimit: positiveInt.default(10_000),
    /** Characters (deltas, tool output and results) the replay buffer keeps; the oldest go first. */
    replayBufferChars: positiveInt.default(16 * 1024 * 1024),
    /**
     * Characters of text, reasoning and tool arguments one step may stream; a provider sending more
     * fails the step with ORCH_STEP_TOO_LARGE (what came before is kept).
     */
    maxStepChars: positiveInt.default(4_000_000),
    /** The running step's streamed content is durable at most this long after it arrived. */
    inflightFlushMs: positiveInt.default(250),
    /** …or as soon as this many characters wait to be written. */
    inflightFlushChars: positiveInt.default(4096),
    /** Compact automatically when the last turn's input tokens exceed this share of the context window. */
    autoCompactShare: z.number().gt(0).max(1).default(0.8),
    /** Messages kept verbatim by compaction (more when needed to keep a tool call with its result). */
    keepLastN: z.number().int().nonnegative().default(6),
    retry: RetryPolicySchema.default(RetryPolicySchema.parse({})),
    /** System prompt of every model request; `{cwd}` is replaced by the conversation's working directory. */
    systemPrompt: z.string().optional(),
  })
  .strict();
export type OrchestratorConfig = z.infer<typeof OrchestratorConfigSchema>;
export type OrchestratorConfigInput = z.input<typeof OrchestratorConfigSchema>;

export const DEFAULT_SYSTEM_PROMPT =
  "You are Dispatch, a coding agent running on the user's machine. Use the available tools to inspect " +
  "and change files and run commands. The working directory is {cwd}. Be concise.";

/** Pure: parses a config section (undefined = all defaults); returns a readable error naming the field. */
export function parseOrchestratorConfig(
  raw: unknown,
): { ok: true; value: OrchestratorConfig } | { ok: false; message: string } {
  const r = OrchestratorConfigSchema.safeParse(raw ?? {});
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  return { ok: false, message: `invalid session-orchestrator config: ${issues}` };
}

/** Pure: delay before retry number `attempt` (1 = first retry): exponential, capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const raw = policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, Math.round(raw));
}
