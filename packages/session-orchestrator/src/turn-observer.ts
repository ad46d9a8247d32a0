/**
 * What operators see of turns: one info line when a turn starts and one when it ends (conversation,
 * turn, model, duration, steps, tokens, reason, error code; never message text), and the turn metrics.
 * It is the hubs' live tap (`onLive`: every live event of every conversation, once), so the turn loop's hot path is untouched: per
 * streamed token it costs one comparison, one clock read and a histogram bucket scan, no allocation.
 *
 * "Token delivery latency" is the gap between consecutive streamed deltas as watchers receive them
 * (what a reader of the stream experiences); time to first token comes from each step's `ttftMs`.
 */
import type { Logger } from "@dispatch/kernel";
import {
  type CounterChild,
  type HistogramChild,
  LATENCY_BUCKETS,
  type MetricsRegistry,
  NO_METRICS,
} from "@dispatch/metrics/contract";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { ConversationSettingsService } from "./contract";
import type { LiveTap } from "./conversation-states";

interface Watch {
  turnId: string;
  conversationId: string;
  model: string;
  startedAt: number;
  steps: number;
  errorCode?: string;
  lastDeltaAt?: number;
  delivery: HistogramChild;
}

export interface TurnObserverDeps {
  /** Where the model of a starting turn is read (for logs and metric labels). */
  settings: Pick<ConversationSettingsService, "getSettings">;
  logger: Logger;
  /** Absent: nothing is recorded. */
  metrics?: MetricsRegistry;
  /** Monotonic ms. */
  clock(): number;
}

/** The observer: give it to the orchestrator as its `onLive` tap. */
export function observeTurns(deps: TurnObserverDeps): LiveTap {
  const registry = deps.metrics ?? NO_METRICS;
  const active = registry.gauge({ name: "dispatch_turns_active", help: "Turns generating right now." });
  const turns = registry.counter({
    name: "dispatch_turns_total",
    help: "Ended turns by outcome (done reason).",
    labelNames: ["outcome"],
  });
  const tokens = registry.counter({
    name: "dispatch_tokens_total",
    help: "Model tokens by model and direction (in = prompt, out = completion), as the provider reported.",
    labelNames: ["model", "direction"],
  });
  const providerErrors = registry.counter({
    name: "dispatch_provider_errors_total",
    help: "Failed provider attempts (retried ones included) by error code.",
    labelNames: ["code"],
  });
  const ttft = registry.histogram({
    name: "dispatch_time_to_first_token_seconds",
    help: "From a step's model request to its first streamed part, by model.",
    labelNames: ["model"],
    buckets: LATENCY_BUCKETS,
  });
  const delivery = registry.histogram({
    name: "dispatch_token_delivery_seconds",
    help: "Gap between consecutive streamed text/reasoning deltas as watchers receive them, by model.",
    labelNames: ["model"],
    buckets: LATENCY_BUCKETS,
  });
  const errorsByCode = new Map<string, CounterChild>();
  const countError = (code: string | undefined): void => {
    const key = code ?? "UNKNOWN";
    let child = errorsByCode.get(key);
    if (!child) {
      child = providerErrors.labels(key);
      errorsByCode.set(key, child);
    }
    child.inc();
  };

  const watches = new Map<string, Watch>();
  // Deltas come in runs of one turn: remembering the last watch skips the map lookup per token.
  let last: Watch | undefined;
  const find = (turnId: string): Watch | undefined => {
    if (last?.turnId === turnId) return last;
    last = watches.get(turnId);
    return last;
  };

  const onEvent = (conversationId: string, event: AgentEvent): void => {
    switch (event.type) {
      case "text-delta":
      case "reasoning-delta": {
        const w = find(event.turnId);
        if (!w) return;
        const now = deps.clock();
        if (w.lastDeltaAt !== undefined) w.delivery.observe((now - w.lastDeltaAt) / 1000);
        w.lastDeltaAt = now;
        return;
      }
      case "turn-start": {
        const model = deps.settings.getSettings(conversationId)?.model ?? "unknown";
        const w: Watch = {
          turnId: event.turnId,
          conversationId,
          model,
          startedAt: deps.clock(),
          steps: 0,
          delivery: delivery.labels(model),
        };
        watches.set(event.turnId, w);
        active.inc();
        deps.logger.info("turn started", { conversationId, turnId: event.turnId, model });
        return;
      }
      case "step-complete": {
        const w = find(event.turnId);
        if (!w) return;
        w.steps++;
        if (event.ttftMs !== undefined) ttft.labels(w.model).observe(event.ttftMs / 1000);
        return;
      }
      case "provider-retry":
        countError(event.code);
        return;
      case "error": {
        const w = find(event.turnId);
        if (w && event.code !== undefined) w.errorCode = event.code;
        if (event.code?.startsWith("PROVIDER_")) countError(event.code);
        return;
      }
      case "done": {
        const w = find(event.turnId);
        if (!w) return;
        end(w);
        turns.labels(event.reason).inc();
        if (event.usage) {
          tokens.labels(w.model, "in").inc(event.usage.inputTokens);
          tokens.labels(w.model, "out").inc(event.usage.outputTokens);
        }
        deps.logger.info("turn ended", {
          conversationId,
          turnId: w.turnId,
          model: w.model,
          durationMs: Math.round(deps.clock() - w.startedAt),
          steps: w.steps,
          inputTokens: event.usage?.inputTokens ?? 0,
          outputTokens: event.usage?.outputTokens ?? 0,
          reason: event.reason,
          ...(w.errorCode ? { errorCode: w.errorCode } : {}),
        });
        return;
      }
      case "turn-sealed": {
        // A turn that ended without `done` (a bug path) must not stay counted as active.
        const w = find(event.turnId);
        if (w) end(w);
        return;
      }
      default:
        return;
    }
  };

  const end = (w: Watch): void => {
    watches.delete(w.turnId);
    if (last === w) last = undefined;
    active.dec();
  };

  return onEvent;
}
