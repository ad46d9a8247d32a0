/**
 * What a client must see of a turn, and what the history must look like: the checks every reliability
 * test shares. The check functions are pure and return a list of problems (empty = fine), so a failing
 * test prints every problem at once.
 */
import type { AgentEvent, DispatchHttpClient, ServerMessage, StoredChunk } from "./deps";

/** Every event that belongs to a turn (all but `status`). */
export type TurnEvent = Exclude<AgentEvent, { type: "status" }>;

export interface SeenEvent {
  event: TurnEvent;
  n: number | undefined;
}

/** What is kept of a sealed turn when the recorder does not keep events. */
export interface SealedTurn {
  conversationId: string;
  userText: string | undefined;
  text: string;
  problems: string[];
}

/**
 * Collects the `chat.delta` events of one connection per turn (in arrival order), and remembers which
 * turns were sealed. Feed it every frame. With `keepEvents: false` a sealed turn is checked at once
 * (`turnProblems`) and only its summary is kept, so long load runs hold only the turns in flight.
 */
export class TurnRecorder {
  /** turnId → events in arrival order (sealed turns are moved to `summaries` unless keepEvents). */
  readonly turns = new Map<string, SeenEvent[]>();
  /** conversationId → its turn ids in the order their first event arrived. */
  readonly byConversation = new Map<string, string[]>();
  readonly sealed = new Set<string>();
  /** Sealed turns, checked (only when keepEvents is false). */
  readonly summaries = new Map<string, SealedTurn>();
  /** Events that arrived for a turn after its `turn-sealed` (always a failure). */
  readonly late: string[] = [];
  private readonly sealListeners: ((conversationId: string, turnId: string) => void)[] = [];

  constructor(private readonly opts: { keepEvents?: boolean } = {}) {}

  feed(frame: ServerMessage): void {
    if (frame.type !== "chat.delta") return;
    const event = frame.event;
    if (event.type === "status") return;
    if (this.sealed.has(event.turnId)) {
      this.late.push(`turn ${event.turnId}: ${event.type} (n=${frame.n}) after turn-sealed`);
      return;
    }
    let list = this.turns.get(event.turnId);
    if (!list) {
      list = [];
      this.turns.set(event.turnId, list);
      const ids = this.byConversation.get(event.conversationId) ?? [];
      ids.push(event.turnId);
      this.byConversation.set(event.conversationId, ids);
    }
    list.push({ event, n: frame.n });
    if (event.type === "turn-sealed") {
      this.sealed.add(event.turnId);
      for (const l of this.sealListeners) l(event.conversationId, event.turnId);
      if (this.opts.keepEvents === false) {
        this.summaries.set(event.turnId, {
          conversationId: event.conversationId,
          userText: this.userText(event.turnId),
          text: this.text(event.turnId),
          problems: turnProblems(event.turnId, list),
        });
        this.turns.delete(event.turnId);
      }
    }
  }

  onSealed(listener: (conversationId: string, turnId: string) => void): void {
    this.sealListeners.push(listener);
  }

  /** The prompt of the turn (its `user-message`), when seen. */
  userText(turnId: string): string | undefined {
    const first = this.turns.get(turnId)?.find((e) => e.event.type === "user-message")?.event;
    return first?.type === "user-message" ? first.text : undefined;
  }

  /** The text of the turn's `text-delta`s, concatenated. */
  text(turnId: string): string {
    return (this.turns.get(turnId) ?? [])
      .map((e) => (e.event.type === "text-delta" ? e.event.delta : ""))
      .join("");
  }
}

/**
 * Pure: problems with one turn's events as a client saw them from its start: `n` = 1..k without gaps or
 * repeats, first `user-message` then `turn-start`, exactly one `done`, which is followed by exactly one
 * `turn-sealed` at the end, and every event of the same conversation and turn.
 */
export function turnProblems(turnId: string, events: readonly SeenEvent[]): string[] {
  const problems: string[] = [];
  const where = `turn ${turnId}`;
  if (events.length === 0) return [`${where}: no events`];
  events.forEach((e, i) => {
    if (e.n !== i + 1) problems.push(`${where}: event #${i + 1} (${e.event.type}) has n=${e.n}`);
    if (e.event.turnId !== turnId) problems.push(`${where}: event #${i + 1} belongs to another turn`);
    if (e.event.conversationId !== events[0]!.event.conversationId)
      problems.push(`${where}: event #${i + 1} belongs to another conversation`);
  });
  const types = events.map((e) => e.event.type);
  if (types[0] !== "user-message") problems.push(`${where}: starts with ${types[0]}, not user-message`);
  if (types[1] !== "turn-start") problems.push(`${where}: second event is ${types[1]}, not turn-start`);
  const dones = types.filter((t) => t === "done").length;
  const seals = types.filter((t) => t === "turn-sealed").length;
  if (dones !== 1) problems.push(`${where}: ${dones} done events`);
  if (seals !== 1) problems.push(`${where}: ${seals} turn-sealed events`);
  if (types.at(-1) !== "turn-sealed") problems.push(`${where}: ends with ${types.at(-1)}, not turn-sealed`);
  if (types.indexOf("done") > types.indexOf("turn-sealed"))
    problems.push(`${where}: turn-sealed before done`);
  return problems.slice(0, 10);
}

/** Pure: the `done` event of a turn, if it was seen. */
export function doneOf(events: readonly SeenEvent[]): Extract<TurnEvent, { type: "done" }> | undefined {
  for (const e of events) if (e.event.type === "done") return e.event;
  return undefined;
}

/** Reads a conversation's whole history through the HTTP windows, `pageSize` chunks at a time. */
export async function readAllChunks(
  http: DispatchHttpClient,
  conversationId: string,
  pageSize = 1000,
): Promise<StoredChunk[]> {
  const out: StoredChunk[] = [];
  let since = 0;
  for (let guard = 0; guard < 100_000; guard++) {
    // A window is "the newest `limit` chunks with since < seq < before": bounding both sides by one
    // page walks forward without skipping anything.
    const page = await http.readConversation(conversationId, {
      sinceSeq: since,
      beforeSeq: since + pageSize + 1,
      limit: pageSize,
    });
    if (page.chunks.length === 0) {
      const rest = await http.readConversation(conversationId, { sinceSeq: since, limit: 1 });
      if (rest.chunks.length === 0) return out;
      // A hole of a whole page: skip past it so the gap check reports it.
      since = since + pageSize;
      continue;
    }
    out.push(...page.chunks);
    since = page.chunks.at(-1)!.seq;
  }
  throw new Error(`readAllChunks(${conversationId}): did not terminate`);
}

/**
 * Pure: problems with a conversation's log: seq must be 1..N, strictly increasing without gaps, and
 * each messageId must form one contiguous run (a message written twice shows up as a second run).
 */
export function logProblems(conversationId: string, chunks: readonly StoredChunk[]): string[] {
  const problems: string[] = [];
  chunks.forEach((c, i) => {
    if (c.seq !== i + 1) problems.push(`${conversationId}: chunk #${i + 1} has seq ${c.seq}`);
  });
  const runs = new Set<string>();
  let previous: string | undefined;
  for (const c of chunks) {
    const id = c.messageId;
    if (id === undefined || id === previous) {
      previous = id;
      continue;
    }
    if (runs.has(id)) problems.push(`${conversationId}: message ${id} appears in two separate runs`);
    runs.add(id);
    previous = id;
  }
  return problems.slice(0, 10);
}

/** Pure: the text of a chunk (text/thinking/system/error), for content comparisons. */
export function chunkText(c: StoredChunk): string {
  const chunk = c.chunk;
  switch (chunk.type) {
    case "text":
    case "thinking":
    case "system":
      return chunk.text;
    case "error":
      return chunk.message;
    default:
      return "";
  }
}
