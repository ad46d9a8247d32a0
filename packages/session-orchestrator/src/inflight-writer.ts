import type { InflightStep, TurnRecords } from "@dispatch/conversation-store/contract";
import type { Logger } from "@dispatch/kernel";
import type { ContentSink, StepContent } from "./step-content";

/**
 * The flush timer shared by every running step: writers due in the same window are flushed by one
 * timer in one transaction (`writeTogether`), so 200 streaming conversations cost one commit per
 * window instead of 200, each a stall of every stream. A writer's content is still durable within
 * `flushMs` of its first unflushed delta: it joins the window already open, or opens one.
 */
export class InflightFlushes {
  private readonly due = new Set<InflightWriter>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: Pick<TurnRecords, "writeTogether">,
    private readonly flushMs: number,
    private readonly logger: Logger,
  ) {}

  schedule(writer: InflightWriter): void {
    this.due.add(writer);
    this.timer ??= setTimeout(() => this.run(), this.flushMs);
  }

  cancel(writer: InflightWriter): void {
    this.due.delete(writer);
  }

  private run(): void {
    this.timer = undefined;
    const due = [...this.due];
    this.due.clear();
    if (due.length === 0) return;
    if (due.length === 1) {
      due[0]!.flush();
      return;
    }
    let committed = false;
    try {
      committed = this.store.writeTogether(() => {
        for (const w of due) w.flush();
      });
    } catch (e) {
      // A closed store (shutdown past its deadline) throws; a timer must never throw.
      this.logger.error("in-flight step content not persisted", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
    if (!committed) for (const w of due) w.lost();
  }
}

export interface InflightWriterOptions {
  store: Pick<TurnRecords, "appendInflight">;
  /** The shared flush timer; absent: the writer arms its own. */
  flushes?: InflightFlushes;
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
  private scheduled = false;
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
    else if (this.opts.flushes) {
      if (!this.scheduled) this.opts.flushes.schedule(this);
      this.scheduled = true;
    } else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
  }

  /** Writes everything not yet written (synchronously; before a tool runs, and by the timer). */
  flush(): void {
    this.unschedule();
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
    this.unschedule();
    this.closed = true;
  }

  /** The transaction this writer's flush was part of did not commit (see InflightFlushes). */
  lost(): void {
    this.report("the transaction it was written in did not commit");
  }

  private unschedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.scheduled) this.opts.flushes?.cancel(this);
    this.scheduled = false;
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
    if (error !== undefined) this.report(error);
  }

  private report(error: string): void {
    if (this.failed) return;
    this.failed = true;
    this.opts.logger.error("in-flight step content not persisted", {
      conversationId: this.opts.conversationId,
      stepId: this.opts.step.stepId,
      error,
    });
  }
}
