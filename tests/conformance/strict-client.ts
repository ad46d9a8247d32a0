/**
 * A strict client written from PROTOCOL.md alone (not from the server's code): it connects the way the
 * existing frontend does (an allow-listed Origin, no token, no ids at level 1), records every frame,
 * and records a violation for any frame outside what its level may receive. Chat events are folded by
 * a reducer shaped like the frontend's: a switch over the known event types whose default is a
 * violation (the frontend has no default case, so an unknown type breaks its state).
 *
 * The level-1 sets below are copied from the top of PROTOCOL.md on purpose: importing the server's
 * own sets would make the suite test the server against itself.
 */
import { WAIT_MS, WaitTimeoutError } from "../support/wait";

/** PROTOCOL.md, "Protocol levels": the server message types of the original protocol. */
export const SPEC_LEVEL1_MESSAGES: ReadonlySet<string> = new Set([
  "catalog",
  "surface",
  "update",
  "error",
  "chat.delta",
  "chat.error",
  "conversation.open",
  "conversation.statusChanged",
  "conversation.compacted",
]);
/** PROTOCOL.md, "Protocol levels": the 11 original AgentEvent types. */
export const SPEC_LEVEL1_EVENTS: ReadonlySet<string> = new Set([
  "status",
  "turn-start",
  "text-delta",
  "reasoning-delta",
  "tool-call",
  "tool-result",
  "tool-output",
  "usage",
  "error",
  "done",
  "turn-sealed",
]);
/** PROTOCOL.md §3 and §4: what level 2 adds. */
const SPEC_LEVEL2_MESSAGES = new Set([
  ...SPEC_LEVEL1_MESSAGES,
  "conversation.presence",
  "ack",
  "pong",
  "hello",
  // §8: batching, asked for with hello.batchMs
  "chat.batch",
]);
const SPEC_LEVEL2_EVENTS = new Set([
  ...SPEC_LEVEL1_EVENTS,
  "user-message",
  "permission-request",
  "permission-resolved",
  "step-complete",
  "steering",
  "provider-retry",
]);

/** The frontend's origin (its dev port): allow-listed by default, sends no token. */
export const FRONTEND_ORIGIN = "http://localhost:24204";

// biome-ignore lint/suspicious/noExplicitAny: frames are checked field by field, as a frontend reads them
export type Frame = { type: string; [k: string]: any };
// biome-ignore lint/suspicious/noExplicitAny: idem
export type Event = { type: string; conversationId: string; turnId?: string; [k: string]: any };

/** One turn as the reducer folds it. */
export interface TurnView {
  turnId: string;
  text: string;
  reasoning: string;
  tools: Map<string, { name: string; input: unknown; output: string; result?: string; isError?: boolean }>;
  /** Extended events seen (level 2 only). */
  ext: string[];
  done?: string;
  sealed: boolean;
}

export interface ConversationView {
  status?: string;
  turns: Map<string, TurnView>;
  order: string[];
}

export interface SurfaceView {
  // biome-ignore lint/suspicious/noExplicitAny: a SurfaceSpec as the frontend reads it
  spec: { id: string; fields: any[] };
  updates: number;
}

export class StrictClient {
  readonly frames: Frame[] = [];
  readonly violations: string[] = [];
  readonly conversations = new Map<string, ConversationView>();
  readonly surfaces = new Map<string, SurfaceView>();
  readonly opened: Frame[] = [];
  readonly closed: Promise<{ code: number }>;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  private constructor(
    readonly socket: WebSocket,
    readonly level: 1 | 2,
    readonly label: string,
  ) {
    socket.addEventListener("message", (e) => this.onFrame(e.data));
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (e) => resolve({ code: e.code })),
    );
  }

  static async connect(wsUrl: string, level: 1 | 2, label = `L${level}`): Promise<StrictClient> {
    const socket = new WebSocket(wsUrl, { headers: { Origin: FRONTEND_ORIGIN } } as unknown as string[]);
    const client = new StrictClient(socket, level, label);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new WaitTimeoutError(`${label}: no open after ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.addEventListener("close", (e) =>
        reject(new Error(`${label}: closed before opening (${e.code})`)),
      );
    });
    if (level === 2)
      client.send({ type: "hello", protocol: 2, client: { name: "conformance", version: "1" } });
    return client;
  }

  send(msg: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(msg));
  }

  close(): void {
    this.socket.close();
  }

  conversation(id: string): ConversationView {
    let c = this.conversations.get(id);
    if (!c) {
      c = { turns: new Map(), order: [] };
      this.conversations.set(id, c);
    }
    return c;
  }

  /** The folded turns of a conversation, in order. */
  turns(id: string): TurnView[] {
    const c = this.conversation(id);
    return c.order.map((t) => c.turns.get(t) as TurnView);
  }

  surface(surfaceId: string): SurfaceView | undefined {
    return this.surfaces.get(surfaceId);
  }

  /** Waits until `pred` holds (checked after every frame); fails naming `what` and the violations. */
  until(pred: () => boolean, what: string, ms = WAIT_MS * 2): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const v = this.violations.length > 0 ? `; violations: ${this.violations.join(" | ")}` : "";
        reject(new WaitTimeoutError(`${this.label}: timed out after ${ms} ms waiting for ${what}${v}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }

  /** The number of sealed turns of a conversation. */
  sealedTurns(id: string): number {
    return this.turns(id).filter((t) => t.sealed).length;
  }

  // ───────────── the wire, checked ─────────────

  private violation(what: string): void {
    this.violations.push(what);
  }

  private onFrame(data: unknown): void {
    if (typeof data !== "string") {
      this.violation("a binary frame");
      return;
    }
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      this.violation(`invalid JSON: ${data.slice(0, 80)}`);
      return;
    }
    if (typeof frame !== "object" || frame === null || typeof frame.type !== "string") {
      this.violation(`a frame without a type: ${data.slice(0, 80)}`);
      return;
    }
    if (this.frames.length === 0 && frame.type !== "catalog")
      this.violation(`the first frame is ${frame.type}, not catalog`);
    this.frames.push(frame);
    const allowed = this.level === 1 ? SPEC_LEVEL1_MESSAGES : SPEC_LEVEL2_MESSAGES;
    if (!allowed.has(frame.type)) this.violation(`message type "${frame.type}" at level ${this.level}`);
    else this.reduce(frame);
    for (const w of [...this.waiters]) {
      if (!w.pred()) continue;
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve();
    }
  }

  private reduce(frame: Frame): void {
    switch (frame.type) {
      case "surface":
        this.surfaces.set(frame.spec.id, { spec: frame.spec, updates: 0 });
        return;
      case "update": {
        const prev = this.surfaces.get(frame.update.surfaceId);
        this.surfaces.set(frame.update.surfaceId, {
          spec: frame.update.spec,
          updates: (prev?.updates ?? 0) + 1,
        });
        return;
      }
      case "conversation.open":
        if (typeof frame.workspaceId !== "string") this.violation("conversation.open without workspaceId");
        this.opened.push(frame);
        return;
      case "conversation.statusChanged":
        this.conversation(frame.conversationId).status = frame.status;
        return;
      case "chat.delta":
        this.fold(frame.event as Event);
        return;
      case "chat.batch":
        for (const item of frame.events as { event: Event }[]) this.fold(item.event);
        return;
      default:
        return;
    }
  }

  /** The frontend-shaped reducer: one case per known event type; anything else breaks it. */
  private fold(e: Event): void {
    const events = this.level === 1 ? SPEC_LEVEL1_EVENTS : SPEC_LEVEL2_EVENTS;
    if (!events.has(e.type)) {
      this.violation(`event type "${e.type}" at level ${this.level}`);
      return;
    }
    const c = this.conversation(e.conversationId);
    if (e.type === "status") {
      c.status = e.status;
      return;
    }
    const turnId = e.turnId as string;
    let t = c.turns.get(turnId);
    if (!t) {
      t = { turnId, text: "", reasoning: "", tools: new Map(), ext: [], sealed: false };
      c.turns.set(turnId, t);
      c.order.push(turnId);
    }
    if (t.sealed) {
      this.violation(`${e.type} after turn-sealed of ${turnId}`);
      return;
    }
    switch (e.type) {
      case "turn-start":
      case "usage":
      case "error":
        return;
      case "text-delta":
        t.text += e.delta;
        return;
      case "reasoning-delta":
        t.reasoning += e.delta;
        return;
      case "tool-call":
        t.tools.set(e.toolCallId, { name: e.toolName, input: e.input, output: "" });
        return;
      case "tool-output": {
        const tool = t.tools.get(e.toolCallId);
        if (tool) tool.output += e.data;
        return;
      }
      case "tool-result": {
        const tool = t.tools.get(e.toolCallId);
        if (!tool) {
          this.violation(`tool-result for unknown call ${e.toolCallId}`);
          return;
        }
        tool.result = e.content;
        tool.isError = e.isError;
        return;
      }
      case "done":
        t.done = e.reason;
        return;
      case "turn-sealed":
        if (t.done === undefined) this.violation(`turn-sealed before done in ${turnId}`);
        t.sealed = true;
        return;
      default:
        // Level 2's extended events: recorded, nothing else to fold.
        t.ext.push(e.type);
        return;
    }
  }
}

export interface HistoryAnswer {
  status: number;
  body: {
    chunks: { seq: number; role: string; chunk: { type: string; text?: string } }[];
    latestSeq: number;
  };
}

/** `GET /conversations/:id?sinceSeq=` as the frontend does it: its Origin, no token. */
export async function historySync(
  httpUrl: string,
  conversationId: string,
  sinceSeq = 0,
): Promise<HistoryAnswer> {
  const url = `${httpUrl}/conversations/${encodeURIComponent(conversationId)}?sinceSeq=${sinceSeq}`;
  const res = await fetch(url, { headers: { Origin: FRONTEND_ORIGIN } });
  return { status: res.status, body: (await res.json()) as HistoryAnswer["body"] };
}
