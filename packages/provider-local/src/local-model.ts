import type { Chunk } from "@dispatch/protocol/types";
import {
  type LanguageModel,
  type ModelInfo,
  type ModelRequest,
  ProviderError,
  type ProviderPart,
  parseToolInput,
} from "@dispatch/providers";

export const LOCAL_CREDENTIAL = "local";
export const LOCAL_ECHO = "local/echo";
export const LOCAL_SLOW = "local/slow";

export interface LocalModelOptions {
  /** Delay before each streamed token of `local/echo`, in ms (default 5; 0 for tests and benches). */
  delayMs?: number;
  /** Delay per token of `local/slow` (default 60). */
  slowDelayMs?: number;
  /** Reported context window (default 32 768). */
  contextWindow?: number;
}

export const LOCAL_INTRO = "Echo from local/echo, Dispatch's built-in offline model (no network, no AI):";

/**
 * Pure: what the offline model answers to a request. Directives in the last user message:
 * - `/tool <name> <json-args>`: call that tool; after its result, summarize the result.
 * - `/steps <n> [name] [json-args]`: call a tool (default: the first offered) until `n` results came back.
 * - `/fail`: fail with PROVIDER_LOCAL_FAILURE before any output.
 * - `/slow <ms>`: delay per token for this answer; `/long <n>`: append `n` filler words.
 * - `/rate <n>`: at most `n` tokens per second on average (paced in ~1 ms batches, so rates far above
 *   1000/s are possible, unlike `/slow`); `/rate 0` means unpaced.
 * Each directive must stand on its own line; the other lines are the text echoed back.
 */
export interface LocalPlan {
  reasoning?: string;
  text: string;
  toolCall?: { toolCallId: string; toolName: string; input: unknown; inputError?: string };
  fail?: boolean;
  delayMs?: number;
  /**
   * Average tokens per second the stream must not exceed (`/rate`); 0 = unpaced. Either way it replaces
   * the model's default per-token delay (an explicit `/slow` still wins).
   */
  ratePerSecond?: number;
}

export function planLocalAnswer(
  request: Pick<ModelRequest, "messages" | "tools" | "reasoningEffort">,
): LocalPlan {
  const lastUser = findLastIndex(request.messages, (m) => m.role === "user");
  const userText = lastUser >= 0 ? textOf(request.messages[lastUser]!.chunks) : "";
  const results = request.messages.slice(lastUser + 1).flatMap((m) => m.chunks.filter(isToolResult));
  const directives = parseDirectives(userText);
  const plain = directives.rest || "(empty message)";
  const plan: LocalPlan = { text: "" };
  if (directives.slowMs !== undefined) plan.delayMs = directives.slowMs;
  if (directives.rate !== undefined) plan.ratePerSecond = directives.rate;
  if (request.reasoningEffort !== undefined) {
    plan.reasoning = `The user wrote ${wordCount(userText)} words; I will echo them back.`;
  }
  if (directives.fail) return { ...plan, fail: true };

  const call = directives.tool ?? directives.steps;
  const wanted = directives.tool ? 1 : (directives.steps?.count ?? 0);
  if (call && results.length < wanted) {
    const toolName = call.name ?? request.tools[0]?.name ?? "noop";
    const parsed = parseToolInput(call.args);
    return {
      ...plan,
      text: results.length === 0 ? `Calling ${toolName}.` : "",
      toolCall: { toolCallId: `echo-call-${lastUser + 1}-${results.length + 1}`, toolName, ...parsed },
    };
  }
  const last = results.at(-1);
  const summary = last
    ? ` The tool ${last.toolName} ${last.isError ? "failed" : "returned"}: ${clip(last.content, 200)}`
    : "";
  const filler = directives.long
    ? ` ${Array.from({ length: directives.long }, (_, i) => `word${i + 1}`).join(" ")}`
    : "";
  return { ...plan, text: `${LOCAL_INTRO} ${plain}${summary}${filler}` };
}

interface Directives {
  rest: string;
  tool?: { name?: string; args: string };
  steps?: { count: number; name?: string; args: string };
  fail: boolean;
  slowMs?: number;
  rate?: number;
  long?: number;
}

/** Pure: extracts `/tool`, `/steps`, `/fail`, `/slow`, `/rate`, `/long` from the user's text. */
export function parseDirectives(text: string): Directives {
  const out: Directives = { rest: "", fail: false };
  const kept: string[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    const tool = /^\/tool\s+(\S+)\s*(.*)$/s.exec(trimmed);
    const steps = /^\/steps\s+(\d+)(?:\s+([^\s{[]+))?\s*(.*)$/s.exec(trimmed);
    const slow = /^\/slow\s+(\d+)$/.exec(trimmed);
    const long = /^\/long\s+(\d+)$/.exec(trimmed);
    const rate = /^\/rate\s+(\d+)$/.exec(trimmed);
    if (tool) out.tool = { name: tool[1], args: tool[2] ?? "" };
    else if (steps)
      out.steps = { count: Number(steps[1]), ...(steps[2] ? { name: steps[2] } : {}), args: steps[3] ?? "" };
    else if (trimmed === "/fail") out.fail = true;
    else if (slow) out.slowMs = Number(slow[1]);
    else if (rate) out.rate = Number(rate[1]);
    else if (long) out.long = Math.min(Number(long[1]), 100_000);
    else kept.push(line);
  }
  out.rest = kept.join("\n").trim();
  return out;
}

/** The offline model. No network; deterministic output; usage counts whitespace-separated words. */
export function createLocalModel(name: string, delayMs: number, info: ModelInfo): LanguageModel {
  return {
    name,
    info,
    stream: (request) => streamLocal(name, delayMs, request),
  };
}

async function* streamLocal(
  name: string,
  defaultDelayMs: number,
  request: ModelRequest,
): AsyncGenerator<ProviderPart> {
  const plan = planLocalAnswer(request);
  // `/rate` sets the pace itself: the default per-token delay would cap it at 1000/delay tokens per second.
  const delayMs = plan.delayMs ?? (plan.ratePerSecond === undefined ? defaultDelayMs : 0);
  const checkAborted = (): void => {
    if (request.signal.aborted) throw new ProviderError("PROVIDER_ABORTED", `request to ${name} was aborted`);
  };
  // With no delay and no rate (tests, benches) a token costs no promise: only the abort check.
  const pause = delayMs > 0 ? () => abortableSleep(delayMs, request.signal).then(checkAborted) : undefined;
  const pace = plan.ratePerSecond ? ratePacer(plan.ratePerSecond) : undefined;
  /** Before each token: the per-token delay, or the rate's sleep when one is due, or just the abort check. */
  const next = (): Promise<void> | undefined => {
    if (pause) return pause();
    checkAborted();
    const ms = pace?.();
    return ms ? abortableSleep(ms, request.signal).then(checkAborted) : undefined;
  };
  if (pause) await pause();
  else checkAborted();
  if (plan.fail) {
    throw new ProviderError(
      "PROVIDER_LOCAL_FAILURE",
      `${name} failed because the message asked for it (/fail)`,
    );
  }
  let output = 0;
  if (plan.reasoning) {
    for (const token of tokens(plan.reasoning)) {
      const wait = next();
      if (wait) await wait;
      yield { type: "reasoning-delta", delta: token };
    }
    output += wordCount(plan.reasoning);
  }
  for (const token of tokens(plan.text)) {
    const wait = next();
    if (wait) await wait;
    yield { type: "text-delta", delta: token };
  }
  output += wordCount(plan.text);
  if (plan.toolCall) {
    const wait = next();
    if (wait) await wait;
    yield { type: "tool-call", ...plan.toolCall };
    output += wordCount(JSON.stringify(plan.toolCall.input));
  }
  yield { type: "usage", usage: { inputTokens: promptWords(request), outputTokens: output } };
  yield { type: "finish", reason: plan.toolCall ? "tool-calls" : "stop" };
}

/** A token may go out this many ms behind schedule before the schedule moves (no catch-up burst). */
const RATE_MAX_LAG_MS = 20;

/**
 * Paces a stream to at most `perSecond` tokens per second on average at sub-millisecond granularity:
 * called once per token, it returns how long to sleep (ms) after each batch of ~1 ms worth of tokens
 * when the stream is ahead of its schedule, else undefined. A stream that fell behind (a busy machine)
 * catches up by at most RATE_MAX_LAG_MS worth of tokens, never a burst of everything it missed.
 */
export function ratePacer(perSecond: number, now: () => number = () => performance.now()) {
  const batch = Math.max(1, Math.round(perSecond / 1000));
  let start = now();
  let sent = 0;
  return (): number | undefined => {
    sent++;
    if (sent % batch !== 0) return undefined;
    const ahead = start + (sent * 1000) / perSecond - now();
    if (ahead < -RATE_MAX_LAG_MS) start += -ahead - RATE_MAX_LAG_MS;
    return ahead > 0 ? ahead : undefined;
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

type PromptMessage = ModelRequest["messages"][number];

/**
 * The words of a prompt up to and including a message, remembered with the message's index. The
 * orchestrator hands every step the history it held (the same message objects, extended), so a long
 * conversation's prompt is counted once, then only what each step added: a step of the offline model
 * costs the same at 100 chunks and at 100 000. (Reused only for the same object at the same index: an
 * estimate in any case, as the usage of this model is.)
 */
const wordsUpTo = new WeakMap<PromptMessage, { index: number; words: number }>();

function messageWords(m: PromptMessage): number {
  let words = 0;
  for (const c of m.chunks) {
    if (c.type === "text" || c.type === "thinking" || c.type === "system") words += wordCount(c.text);
    else if (c.type === "tool-result") words += wordCount(c.content);
    else if (c.type === "tool-call") words += wordCount(JSON.stringify(c.input) ?? "");
  }
  return words;
}

function promptWords(request: ModelRequest): number {
  const messages = request.messages;
  // The newest message whose prefix was counted before (scanning back over what is new).
  let from = messages.length - 1;
  while (from >= 0 && wordsUpTo.get(messages[from]!)?.index !== from) from--;
  let words = from >= 0 ? wordsUpTo.get(messages[from]!)!.words : 0;
  for (let i = from + 1; i < messages.length; i++) {
    words += messageWords(messages[i]!);
    wordsUpTo.set(messages[i]!, { index: i, words });
  }
  return wordCount(request.system ?? "") + words;
}

/** Words with their trailing whitespace, so the concatenation is the text. */
function tokens(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

function textOf(chunks: readonly Chunk[]): string {
  return chunks.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n");
}

function isToolResult(c: Chunk): c is Extract<Chunk, { type: "tool-result" }> {
  return c.type === "tool-result";
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
