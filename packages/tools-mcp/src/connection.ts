/**
 * One configured MCP server: its SDK client, its state and its tools.
 *
 * Guarantees:
 * - State moves stopped → starting → ready; a crash (stdio exit, lost HTTP connection) or a failed start
 *   moves it to restarting, and a new start runs after `backoffMs(attempt)`; after MAX_ATTEMPTS
 *   consecutive failures it stays `failed` until `restart()`.
 * - A call while the server is not ready fails at once with TOOL_UNAVAILABLE naming the state and the
 *   last error; a call while it is starting waits for the start to settle (bounded by startupTimeoutMs).
 * - Every call runs with `timeoutMs` and the caller's signal; on either the SDK sends
 *   `notifications/cancelled` and the call fails (TOOL_TIMEOUT / TOOL_ABORTED). Protocol errors and
 *   malformed results are TOOL_REMOTE_ERROR results. `call` never rejects.
 * - Callbacks of a superseded client (an earlier generation) are ignored, so a late exit of an old child
 *   never disturbs the current one. `stop()` closes the client; the SDK ends a stdio child (stdin EOF,
 *   then SIGTERM, then SIGKILL).
 */

import type { Logger } from "@dispatch/kernel";
import type { McpServerState } from "@dispatch/protocol/types";
import type { ToolResult } from "@dispatch/tools/contract";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { backoffMs, MAX_ATTEMPTS, STABLE_MS } from "./backoff";
import type { McpServerConfig } from "./config";
import { toToolResult } from "./results";
import { buildTransport } from "./transport";

export interface RemoteTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export interface ConnectionDeps {
  name: string;
  config: McpServerConfig;
  env: Record<string, string | undefined>;
  logger: Logger;
  version: string;
  /** Called after every change of state, tools, restarts or last error. */
  onChange(): void;
}

const STDERR_TAIL = 400;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function fail(content: string, code: NonNullable<ToolResult["code"]>): ToolResult {
  return { content, isError: true, code };
}

export class McpConnection {
  state: McpServerState;
  tools: RemoteTool[] = [];
  lastError: string | undefined;
  restarts = 0;
  private client: Client | undefined;
  private generation = 0;
  private attempt = 0;
  private readySince = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stderrTail = "";
  private readonly waiters = new Set<() => void>();

  constructor(private readonly deps: ConnectionDeps) {
    this.state = deps.config.enabled ? "stopped" : "disabled";
  }

  get name(): string {
    return this.deps.name;
  }

  /** Starts a stopped server (a failed one waits for `restart()`; others are running or disabled). */
  start(): void {
    if (this.state === "stopped") void this.connect();
  }

  /** Stops the server (if running) and starts it again now, resetting the backoff. */
  async restart(): Promise<void> {
    this.attempt = 0;
    this.restarts++;
    const old = this.detach();
    // The new start begins (state "starting") before the old client is closed, so nobody sees the
    // old "ready" in between; the old client's late callbacks belong to a superseded generation.
    void this.connect();
    await old?.close().catch(() => {});
  }

  /** Closes the client and leaves the server stopped; pending calls fail. */
  async stop(): Promise<void> {
    const old = this.detach();
    if (this.state !== "disabled") this.set("stopped");
    await old?.close().catch(() => {});
  }

  /** Calls tool `tool` (its MCP name); `exposed` is the name the model used, for messages. */
  async call(tool: string, exposed: string, args: unknown, signal: AbortSignal): Promise<ToolResult> {
    if (this.state === "stopped") this.start();
    if (this.state === "starting") await this.settled(signal);
    const client = this.client;
    if (signal.aborted) return fail(`${exposed} was stopped with the turn`, "TOOL_ABORTED");
    if (this.state !== "ready" || !client) return fail(this.unavailable(), "TOOL_UNAVAILABLE");
    const gen = this.generation;
    const { timeoutMs } = this.deps.config;
    try {
      const result = await client.callTool(
        { name: tool, arguments: (args ?? {}) as Record<string, unknown> },
        undefined,
        { signal, timeout: timeoutMs },
      );
      return toToolResult(
        result as { content?: unknown; structuredContent?: unknown; isError?: unknown },
        exposed,
      );
    } catch (e) {
      if (signal.aborted)
        return fail(`${exposed} was stopped with the turn (the call was cancelled)`, "TOOL_ABORTED");
      if (e instanceof McpError && e.code === ErrorCode.RequestTimeout) {
        return fail(`${exposed} timed out after ${timeoutMs} ms (the call was cancelled)`, "TOOL_TIMEOUT");
      }
      if (
        gen !== this.generation ||
        this.state !== "ready" ||
        (e instanceof McpError && e.code === ErrorCode.ConnectionClosed)
      ) {
        return fail(
          `${exposed} failed: MCP server "${this.name}" exited during the call; it is being restarted`,
          "TOOL_UNAVAILABLE",
        );
      }
      if (e instanceof McpError)
        return fail(`${exposed} failed: protocol error: ${e.message}`, "TOOL_REMOTE_ERROR");
      if (typeof e === "object" && e !== null && Array.isArray((e as { issues?: unknown }).issues)) {
        return fail(
          `${exposed} failed: MCP server "${this.name}" sent a malformed result`,
          "TOOL_REMOTE_ERROR",
        );
      }
      if (this.deps.config.url === undefined)
        return fail(`${exposed} failed: ${messageOf(e)}`, "TOOL_REMOTE_ERROR");
      // Over HTTP anything else is the transport failing (the server is gone): treat it as a crash.
      this.lost(gen, messageOf(e));
      return fail(
        `${exposed} failed: MCP server "${this.name}" is unreachable: ${messageOf(e)}`,
        "TOOL_UNAVAILABLE",
      );
    }
  }

  private unavailable(): string {
    const why = this.lastError ? ` (last error: ${this.lastError})` : "";
    const what: Record<McpServerState, string> = {
      disabled: "is disabled in the config",
      stopped: "is not running",
      starting: "is still starting",
      ready: "is ready",
      restarting: "is restarting after a failure",
      failed: "failed and is not restarted automatically (restart it from the mcp surface)",
    };
    return `MCP server "${this.name}" ${what[this.state]}${why}`;
  }

  private set(state: McpServerState): void {
    this.state = state;
    if (state !== "ready") this.tools = [];
    for (const w of [...this.waiters]) w();
    this.deps.onChange();
  }

  /** Resolves when the state leaves `starting`, the signal aborts, or the startup timeout passes. */
  private settled(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(check);
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const check = () => {
        if (this.state !== "starting") done();
      };
      const t = setTimeout(done, this.deps.config.startupTimeoutMs);
      this.waiters.add(check);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private async connect(): Promise<void> {
    clearTimeout(this.timer);
    const gen = ++this.generation;
    this.set("starting");
    const built = buildTransport(this.deps.config, this.deps.env);
    if (!built.ok) return this.failedStart(gen, built.message);
    this.stderrTail = "";
    built.stderr?.on("data", (chunk: Buffer | string) => {
      const text = String(chunk);
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
      this.deps.logger.debug("mcp server stderr", { server: this.name, text: text.slice(0, 2000) });
    });
    const client = new Client({ name: "dispatch", version: this.deps.version });
    client.onclose = () => this.lost(gen, "the server closed the connection");
    client.onerror = (e) =>
      this.deps.logger.debug("mcp transport error", { server: this.name, error: messageOf(e) });
    client.setNotificationHandler(
      ToolListChangedNotificationSchema,
      () => void this.refreshTools(gen, client),
    );
    this.client = client;
    try {
      const { startupTimeoutMs } = this.deps.config;
      await client.connect(built.transport, { timeout: startupTimeoutMs });
      const tools = await this.listTools(client);
      if (gen !== this.generation) return;
      this.tools = tools;
      this.readySince = Date.now();
      this.set("ready");
      this.deps.logger.info("mcp server ready", { server: this.name, tools: tools.length });
    } catch (e) {
      if (gen !== this.generation) return;
      this.failedStart(gen, `could not start: ${messageOf(e)}`);
    }
  }

  private async listTools(client: Client): Promise<RemoteTool[]> {
    const out: RemoteTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        timeout: this.deps.config.startupTimeoutMs,
      });
      for (const t of page.tools) {
        out.push({
          name: t.name,
          ...(t.description !== undefined ? { description: t.description } : {}),
          inputSchema: t.inputSchema as Record<string, unknown>,
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  /** `notifications/tools/list_changed`: the new list is offered from the next step on. */
  private async refreshTools(gen: number, client: Client): Promise<void> {
    try {
      const tools = await this.listTools(client);
      if (gen !== this.generation || this.state !== "ready") return;
      this.tools = tools;
      this.deps.onChange();
    } catch (e) {
      this.deps.logger.warn("mcp tools/list failed after list_changed", {
        server: this.name,
        error: messageOf(e),
      });
    }
  }

  private failedStart(gen: number, message: string): void {
    if (gen !== this.generation) return;
    const client = this.client;
    this.client = undefined;
    void client?.close().catch(() => {});
    this.lastError = this.withStderr(message);
    this.deps.logger.warn("mcp server failed", { server: this.name, error: this.lastError });
    this.scheduleRestart();
  }

  /** The connection of generation `gen` is gone (child exited, HTTP unreachable). */
  private lost(gen: number, why: string): void {
    // While starting, the pending connect() rejects and reports the failure itself.
    if (gen !== this.generation || this.state !== "ready") return;
    if (Date.now() - this.readySince >= STABLE_MS) this.attempt = 0;
    this.failedStart(gen, why);
  }

  private withStderr(message: string): string {
    const tail = this.stderrTail.trim().split("\n").pop()?.trim();
    return tail ? `${message}; stderr: ${tail}` : message;
  }

  private scheduleRestart(): void {
    this.attempt++;
    if (this.attempt > MAX_ATTEMPTS) {
      this.set("failed");
      return;
    }
    this.set("restarting");
    this.timer = setTimeout(() => {
      this.restarts++;
      void this.connect();
    }, backoffMs(this.attempt));
  }

  /** Supersedes the current client (its callbacks are ignored from now on) and returns it. */
  private detach(): Client | undefined {
    clearTimeout(this.timer);
    this.generation++;
    const client = this.client;
    this.client = undefined;
    return client;
  }
}
