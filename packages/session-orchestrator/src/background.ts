import type { Logger } from "@dispatch/kernel";
import { messageOf } from "./run-tool";

/**
 * The orchestrator's detached work (turns, compactions) and whether shutdown began. The orchestrator
 * owns it; the turn lifecycle and the compaction runs only read `stopping` and `track` their promises,
 * so no call goes back up to the orchestrator. Guarantees: a tracked promise never rejects unhandled
 * (a failure is logged), and `drain` resolves only once every tracked promise, including ones tracked
 * while draining, has settled.
 */
export class BackgroundTasks {
  private readonly tasks = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /** True once shutdown began: no new turns, compactions or carries start. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Keeps a background promise until it settles. */
  track(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) =>
      this.log.error("background task failed", { error: messageOf(e) }),
    );
    this.tasks.add(tracked);
    tracked.finally(() => this.tasks.delete(tracked));
  }

  /** Marks shutdown; from now on `stopping` is true. */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves when nothing is tracked any more. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
