/** Helpers for this package's tests: a scripted LanguageModel, a static catalog, temp stores, recorders. */
import { afterEach, beforeEach } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type ConversationStore,
  openConversationStore,
  type SqliteConversationStore,
} from "@dispatch/conversation-store";
import { createMemoryLogger, type EventHandle } from "@dispatch/kernel";
import type { AgentEvent, AgentEventType } from "@dispatch/protocol/types";
import type {
  LanguageModel,
  ModelCatalog,
  ModelEntry,
  ModelInfo,
  ModelRequest,
  ProviderPart,
  ResolveResult,
} from "@dispatch/providers";
import { type OpenAIServer, startOpenAIServer, withTimeout } from "@dispatch/testkit";
import { createToolRegistry, type PermissionGate, type Tool, type ToolResult } from "@dispatch/tools";
import { type OrchestratorConfigInput, parseOrchestratorConfig } from "./config";
import type { ConversationSettingsService } from "./contract";
import { createOrchestrator, type OrchestratorDeps, type OrchestratorService } from "./orchestrator";
import { createSettingsService } from "./settings";
import { storesOf } from "./stores";

export const WAIT_MS = 10_000;

/** One scripted response: parts to stream, an error to throw, or a custom stream. */
export type ModelScript =
  | ProviderPart[]
  | { throw: Error; after?: ProviderPart[] }
  | ((req: ModelRequest) => AsyncIterable<ProviderPart>);

/** A LanguageModel that answers each request with the next script, and records every request. */
export class ScriptedModel implements LanguageModel {
  readonly requests: ModelRequest[] = [];
  private readonly scripts: ModelScript[] = [];

  constructor(
    readonly name = "fake/model",
    readonly info: ModelInfo = { contextWindow: 100_000 },
  ) {}

  script(...s: ModelScript[]): this {
    this.scripts.push(...s);
    return this;
  }

  get pending(): number {
    return this.scripts.length;
  }

  async *stream(req: ModelRequest): AsyncIterable<ProviderPart> {
    // The history array is the orchestrator's held one, valid for this call only: keep a copy.
    this.requests.push({ ...req, messages: [...req.messages] });
    const s = this.scripts.shift();
    if (s === undefined)
      throw new Error(`ScriptedModel ${this.name}: no script left for request ${this.requests.length}`);
    if (typeof s === "function") {
      yield* s(req);
      return;
    }
    if (Array.isArray(s)) {
      yield* s;
      return;
    }
    for (const p of s.after ?? []) yield p;
    throw s.throw;
  }
}

/** Pure script builders. */
export const say = (text: string, usage = { inputTokens: 10, outputTokens: 2 }): ProviderPart[] => [
  { type: "text-delta", delta: text },
  { type: "usage", usage },
  { type: "finish", reason: "stop" },
];

export const callTool = (
  toolCallId: string,
  toolName: string,
  input: unknown,
  text?: string,
): ProviderPart[] => [
  ...(text ? [{ type: "text-delta" as const, delta: text }] : []),
  { type: "tool-call", toolCallId, toolName, input },
  { type: "usage", usage: { inputTokens: 10, outputTokens: 3 } },
  { type: "finish", reason: "tool-calls" },
];

export class StaticCatalog implements ModelCatalog {
  constructor(private readonly models: LanguageModel[]) {}
  list(): ModelEntry[] {
    return this.models.map((m) => ({ name: m.name, info: m.info }));
  }
  defaultModel(): string {
    return this.models[0]?.name ?? "none/none";
  }
  resolve(name: string): ResolveResult {
    const m = this.models.find((x) => x.name === name);
    return m
      ? { ok: true, value: m }
      : { ok: false, error: { code: "PROVIDER_UNKNOWN_MODEL", message: `unknown model "${name}"` } };
  }
}

/** A tool with hand-written validation (no TypeBox needed) that runs `run`. */
export function testTool(
  name: string,
  run: (args: { value: string }, signal: AbortSignal, onOutput: (s: string) => void) => Promise<ToolResult>,
  opts: { exclusive?: boolean } = {},
): Tool<{ value: string }> {
  return {
    name,
    description: `test tool ${name}`,
    parameters: { type: "object", properties: { value: { type: "string" } }, required: ["value"] },
    ...(opts.exclusive ? { exclusive: true } : {}),
    validate(args) {
      const v = (args as { value?: unknown } | null)?.value;
      return typeof v === "string"
        ? { ok: true, value: { value: v } }
        : { ok: false, message: `${name}: /value must be string` };
    },
    permission: () => ({ kind: "read" }),
    execute: (args, ctx) => run(args, ctx.signal, (s) => ctx.onOutput(s, "stdout")),
  };
}

/** A model response that streams `first`, then waits for `release()` before finishing. */
export function gated(first: string, rest = " end") {
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const script = (req: { signal: AbortSignal }) =>
    (async function* (): AsyncGenerator<ProviderPart> {
      yield { type: "text-delta", delta: first };
      await Promise.race([released, aborted(req.signal)]);
      if (req.signal.aborted) throw new Error("aborted");
      yield* say(rest);
    })();
  return { script, release };
}

/** Registers the tool `slow`, which signals when it starts and finishes only on `release()`. */
export function blockingTool(h: Pick<Harness, "tools">) {
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  let started = () => {};
  const running = new Promise<void>((r) => {
    started = r;
  });
  h.tools.register(
    testTool("slow", async () => {
      started();
      await released;
      return { content: "slow done", isError: false };
    }),
  );
  return { release, running: () => withTimeout(running, WAIT_MS, "the slow tool to start") };
}

/** Resolves when `signal` aborts. */
export const aborted = (signal: AbortSignal) =>
  new Promise<void>((r) =>
    signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true }),
  );

export interface Harness extends Disposable {
  orch: OrchestratorService;
  settings: ConversationSettingsService;
  store: SqliteConversationStore;
  model: ScriptedModel;
  tools: ReturnType<typeof createToolRegistry>;
  emitted: { event: string; payload: unknown }[];
  /** Resolves with the payload of the first kernel event `id` emitted (already or later). */
  waitEmitted(id: string, timeoutMs?: number): Promise<unknown>;
  logger: ReturnType<typeof createMemoryLogger>;
  dir: string;
}

/** An orchestrator over a real SQLite store in a temp folder, a scripted model and a tool registry. */
export function harness(
  opts: {
    config?: OrchestratorConfigInput;
    gate?: PermissionGate;
    models?: LanguageModel[];
    /** What the orchestrator sees of the real store (to make one operation fail). */
    storeView?: (store: ConversationStore) => ConversationStore;
    /** Writes to the store before the orchestrator is created (a state a crash left behind). */
    seed?: (store: SqliteConversationStore) => void;
    /** The hubs' live tap (every live event of every conversation). */
    onLive?: OrchestratorDeps["onLive"];
  } = {},
): Harness {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dispatch-orch-"));
  const store = openConversationStore({ path: path.join(dir, "store.db") });
  const model = new ScriptedModel();
  const tools = createToolRegistry();
  const logger = createMemoryLogger();
  const emitted: { event: string; payload: unknown }[] = [];
  const emitWaiters: { id: string; resolve: (p: unknown) => void }[] = [];
  const config = parseOrchestratorConfig({
    retry: { initialDelayMs: 1, maxDelayMs: 5 },
    ...opts.config,
  });
  if (!config.ok) throw new Error(config.message);
  opts.seed?.(store);
  const deps: OrchestratorDeps = {
    store: storesOf(opts.storeView ? opts.storeView(store) : store),
    catalog: new StaticCatalog([model, ...(opts.models ?? [])]),
    tools,
    ...(opts.gate ? { gate: opts.gate } : {}),
    config: config.value,
    logger,
    emit: <T>(e: EventHandle<T>, payload: T) => {
      emitted.push({ event: e.id, payload });
      for (const w of emitWaiters.filter((w) => w.id === e.id)) w.resolve(payload);
    },
    defaultCwd: dir,
    ...(opts.onLive ? { onLive: opts.onLive } : {}),
  };
  const orch = createOrchestrator(deps);
  return {
    orch,
    settings: createSettingsService(deps),
    store,
    model,
    tools,
    emitted,
    waitEmitted(id, timeoutMs = WAIT_MS) {
      const seen = emitted.find((e) => e.event === id);
      if (seen) return Promise.resolve(seen.payload);
      return withTimeout(
        new Promise((resolve) => emitWaiters.push({ id, resolve })),
        timeoutMs,
        `kernel event ${id}`,
      );
    },
    logger,
    dir,
    [Symbol.dispose]() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects a conversation's events (with `n`) and lets a test await one. */
export class Recorder {
  readonly entries: { event: AgentEvent; n: number | undefined }[] = [];
  private waiters: { pred: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }[] = [];

  readonly listener = (event: AgentEvent, n: number | undefined) => {
    this.entries.push({ event, n });
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(event)) return true;
      w.resolve(event);
      return false;
    });
  };

  get types(): AgentEventType[] {
    return this.entries.map((e) => e.event.type);
  }

  /** The types of the turn events (without the conversation's `status` events). */
  get turnTypes(): AgentEventType[] {
    return this.types.filter((t) => t !== "status");
  }

  of<T extends AgentEventType>(type: T): Extract<AgentEvent, { type: T }>[] {
    return this.entries
      .map((e) => e.event)
      .filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
  }

  /** Resolves with the first matching event already seen or yet to come. */
  waitFor(pred: (e: AgentEvent) => boolean, what: string, timeoutMs = WAIT_MS): Promise<AgentEvent> {
    const seen = this.entries.find((e) => pred(e.event));
    if (seen) return Promise.resolve(seen.event);
    const p = new Promise<AgentEvent>((resolve) => this.waiters.push({ pred, resolve }));
    return withTimeout(p, timeoutMs, what);
  }

  waitForType(type: AgentEventType, what = `a ${type} event`, timeoutMs = WAIT_MS): Promise<AgentEvent> {
    return this.waitFor((e) => e.type === type, what, timeoutMs);
  }

  /** Waits for the `turn-sealed` of `turnId` (or of any turn). */
  sealed(turnId?: string, timeoutMs = WAIT_MS): Promise<AgentEvent> {
    return this.waitFor(
      (e) => e.type === "turn-sealed" && (turnId === undefined || e.turnId === turnId),
      `turn-sealed of ${turnId ?? "a turn"}`,
      timeoutMs,
    );
  }
}

/** The ok value of a Result, or throws with its error (fails the test with a readable message). */
export function ok<T>(
  r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } },
): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

export interface LoopbackEnv {
  /** A fresh temp folder (the conversations' cwd) holding `notes.txt`. */
  dir: string;
  server: OpenAIServer;
}

/** Per test: a temp cwd with `notes.txt` = `notes`, and a loopback OpenAI server; both cleaned up. */
export function loopbackEnv(notes: string): LoopbackEnv {
  const env = {} as LoopbackEnv;
  beforeEach(() => {
    env.dir = mkdtempSync(path.join(os.tmpdir(), "dispatch-orch-e2e-"));
    writeFileSync(path.join(env.dir, "notes.txt"), notes);
    env.server = startOpenAIServer();
  });
  afterEach(async () => {
    await env.server.close();
    rmSync(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** A view of `store` whose `method` throws (as a bug would) while `when()` is true. */
export function throwingStore(
  store: ConversationStore,
  method: keyof ConversationStore,
  when: () => boolean,
): ConversationStore {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key === method && when()) {
        return () => {
          throw new Error(`${String(method)} blew up`);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
