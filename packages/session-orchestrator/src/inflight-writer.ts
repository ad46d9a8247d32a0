import type { InflightStep, TurnRecords } from "@dispatch/conversation-store/contract";
import type { Logger } from "@dispatch/kernel";
import type { ContentSink, StepContent } from "./step-content";

export interface InflightWriterOptions {
  store: Pick<TurnRecords, "appendInflight">;
  conversationId: string;
  step: InflightStep;
  /** Longest delay between a delta and its flush. */
  flushMs: number;
  /** Characters that trigger a flush at once. */
  flushChars: number;
  logger: Logger;
}

/**
 * Makes a running step's streamed content durable within a bounded delay: at most `flushMs` after a
 * delta, or at once when `flushChars` are waiting. A flush is one store transaction holding only what
 * is new, so the cost per token is a counter and a comparison (no write, no allocation); the timer is
 * armed once per flush window, not per token.
 *
 * A failed write is logged (once per step) and the step goes on: the stream is what the user sees,
 * and the step's own append still writes the whole content when it ends.
 */
export class InflightWriter implements ContentSink {
  private content: StepContent | undefined;
  private waiting = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failed = false;
  private closed = false;

  constructor(private readonly opts: InflightWriterOptions) {}

  /** The content whose growth this writer flushes (set once, right after both are made). */
  attach(content: StepContent): void {
    this.content = content;
  }

  grew(chars: number): void {
    if (this.closed) return;
    this.waiting += chars;
    if (this.waiting >= this.opts.flushChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
  }

  /** Writes everything not yet written (synchronously; before a tool runs, and by the timer). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = 0;
    if (this.closed || !this.content) return;
    const parts = this.content.takeUnflushed();
    if (parts.length === 0) return;
    this.write(parts);
  }

  /** Records that a tool call is about to run, with the run id its processes will carry. */
  toolStarting(toolCallId: string, runId: string): void {
    this.flush();
    if (!this.closed) this.write([{ kind: "tool-start", toolCallId, runId }]);
  }

  /** Stops flushing (the step is being written whole, or it failed). */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
  }

  private write(parts: Parameters<TurnRecords["appendInflight"]>[2]): void {
    let error: string | undefined;
    try {
      const r = this.opts.store.appendInflight(this.opts.conversationId, this.opts.step, parts);
      if (!r.ok) error = r.error.message;
    } catch (e) {
      // A closed store (shutdown past its deadline) throws; a timer must never throw.
      error = e instanceof Error ? e.message : String(e);
    }
    if (error === undefined || this.failed) return;
    this.failed = true;
    this.opts.logger.error("in-flight step content not persisted", {
      conversationId: this.opts.conversationId,
      stepId: this.opts.step.stepId,
      error,
    });
  }
}
