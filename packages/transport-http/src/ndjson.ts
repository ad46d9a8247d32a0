import type { Disposer } from "@dispatch/kernel";
import { eventVisibleAt, type ProtocolLevel } from "@dispatch/protocol";
import type { AgentEvent } from "@dispatch/protocol/types";
import type { Orchestrator } from "@dispatch/session-orchestrator/contract";

/** Pure: the events of one turn that belong in its NDJSON stream (its own, plus conversation status). */
export function belongsToTurn(event: AgentEvent, turnId: string): boolean {
  return event.type === "status" || event.turnId === turnId;
}

/** Pure: true for the event that ends the stream: this turn's `turn-sealed`. */
export function endsTurn(event: AgentEvent, turnId: string): boolean {
  return event.type === "turn-sealed" && event.turnId === turnId;
}

export interface TurnStreamOptions {
  /** Bytes a client may fall behind before its stream is cut (the turn goes on). */
  maxBufferedBytes: number;
  /** Told when a slow client's stream is cut. */
  onSlowConsumer?: () => void;
  /** The protocol level the client asked for: level 1 gets only the original event types. */
  level: ProtocolLevel;
}

/**
 * An NDJSON byte stream of one turn's events, written as they happen (one JSON object per line), that
 * ends after the turn's `turn-sealed`. It subscribes with `resume: { turnId, n: 0 }`, which replays the
 * turn from its first event even if it has just been sealed. Cancelling the stream (client gone)
 * unsubscribes; it never stops the turn.
 */
export function turnEventStream(
  orchestrator: Orchestrator,
  conversationId: string,
  turnId: string,
  opts: TurnStreamOptions,
): { stream: ReadableStream<Uint8Array>; dispose: () => void } {
  const encoder = new TextEncoder();
  let unsubscribe: Disposer | undefined;
  let finished = false;
  const dispose = () => {
    finished = true;
    const u = unsubscribe;
    unsubscribe = undefined;
    if (u) void u();
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const listener = (event: AgentEvent) => {
          if (finished || !belongsToTurn(event, turnId)) return;
          if (!eventVisibleAt(opts.level, event.type)) return;
          controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
          if (endsTurn(event, turnId)) {
            finished = true;
            controller.close();
            // May run during subscribe's synchronous replay, before `unsubscribe` is assigned.
            queueMicrotask(dispose);
            return;
          }
          if ((controller.desiredSize ?? 0) < -opts.maxBufferedBytes) {
            finished = true;
            controller.error(new Error("slow consumer: the client fell too far behind"));
            opts.onSlowConsumer?.();
            queueMicrotask(dispose);
          }
        };
        unsubscribe = orchestrator.subscribe(conversationId, listener, { turnId, n: 0 });
        if (finished) dispose();
      },
      cancel() {
        dispose();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
  return { stream, dispose };
}
