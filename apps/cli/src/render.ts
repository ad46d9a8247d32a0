import { painter } from "@dispatch/daemon/cli";
import type { AgentEvent, StoredChunk } from "@dispatch/protocol/types";
import { safeLine, safeText } from "./sanitize";

export interface RenderOptions {
  color: boolean;
  showReasoning: boolean;
}

export interface RenderState {
  /** What the last written text was, so sections get separated by a newline exactly once. */
  mode: "start" | "text" | "reasoning" | "other";
  /** stdout has text on a line that is not finished yet. */
  openLine?: boolean;
}

export interface Rendered {
  stdout?: string;
  stderr?: string;
}

export const dim = (on: boolean, s: string) => painter(on)("dim", s);
const red = (on: boolean, s: string) => painter(on)("red", s);
const cyan = (on: boolean, s: string) => painter(on)("cyan", s);
const yellow = (on: boolean, s: string) => painter(on)("yellow", s);

/** A one-line summary of untrusted content; the permission prompt (chat.ts) shows inputs in full. */
function brief(value: unknown, max = 160): string {
  const text = safeLine(typeof value === "string" ? value : (JSON.stringify(value) ?? String(value)));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Pure: how one AgentEvent shows in the terminal. The answer goes to stdout (so it can be piped);
 * everything about the process (tools, retries, errors, reasoning) goes to stderr.
 */
export function renderEvent(event: AgentEvent, state: RenderState, opts: RenderOptions): Rendered {
  const { color } = opts;
  const breakLine = state.mode === "text" ? "\n" : "";
  switch (event.type) {
    case "text-delta": {
      // Text resuming after reasoning or a tool call starts on a fresh line.
      const prefix = state.mode === "reasoning" || (state.mode === "other" && state.openLine) ? "\n" : "";
      state.mode = "text";
      state.openLine = !event.delta.endsWith("\n");
      return { stdout: prefix + safeText(event.delta) };
    }
    case "reasoning-delta":
      if (!opts.showReasoning) return {};
      state.mode = "reasoning";
      return { stderr: dim(color, safeText(event.delta)) };
    case "tool-call":
      state.mode = "other";
      return {
        stderr: `${breakLine}${cyan(color, `▸ ${safeLine(event.toolName)}`)} ${dim(color, brief(event.input))}\n`,
      };
    case "tool-output":
      state.mode = "other";
      return { stderr: dim(color, safeText(event.data)) };
    case "tool-result":
      state.mode = "other";
      return {
        stderr: event.isError
          ? `${red(color, `✗ ${safeLine(event.toolName)}: ${brief(event.content)}`)}\n`
          : `${dim(color, `✓ ${safeLine(event.toolName)} (${brief(event.content, 80)})`)}\n`,
      };
    case "permission-request":
      state.mode = "other";
      return {
        stderr: `${breakLine}${yellow(color, `? ${safeLine(event.toolName)} needs permission: ${safeLine(event.reason)}`)}\n`,
      };
    case "permission-resolved":
      return { stderr: `${dim(color, `  permission ${event.decision}`)}\n` };
    case "provider-retry":
      return {
        stderr: `${breakLine}${yellow(color, `↻ retry ${event.attempt} in ${event.delayMs} ms: ${safeLine(event.message)}`)}\n`,
      };
    case "steering":
      state.mode = "other";
      return { stderr: `${breakLine}${dim(color, `» ${safeText(event.text)}`)}\n` };
    case "error":
      state.mode = "other";
      return {
        stderr: `${breakLine}${red(color, `error: ${safeText(event.message)}${event.code ? ` (${safeLine(event.code)})` : ""}`)}\n`,
      };
    case "done": {
      const out: Rendered = state.openLine ? { stdout: "\n" } : {};
      state.mode = "start";
      state.openLine = false;
      if (event.reason !== "stop" && event.reason !== "tool-calls") {
        out.stderr = `${dim(color, `[turn ended: ${event.reason}]`)}\n`;
      }
      return out;
    }
    default:
      return {};
  }
}

/** Pure: one stored chunk of history as terminal text. */
export function renderChunk(chunk: StoredChunk, color: boolean): string {
  const c = chunk.chunk;
  const who =
    chunk.role === "user"
      ? cyan(color, "you")
      : chunk.role === "assistant"
        ? "assistant"
        : dim(color, chunk.role);
  switch (c.type) {
    case "text":
      return `${who}: ${safeText(c.text)}`;
    case "thinking":
      return dim(color, `${chunk.role} (thinking): ${safeText(c.text)}`);
    case "tool-call":
      return cyan(color, `▸ ${safeLine(c.toolName)} ${brief(c.input)}`);
    case "tool-result":
      return c.isError
        ? red(color, `✗ ${safeLine(c.toolName)}: ${brief(c.content)}`)
        : dim(color, `✓ ${safeLine(c.toolName)}: ${brief(c.content)}`);
    case "error":
      return red(color, `error: ${safeText(c.message)}`);
    case "system":
      return dim(color, `system: ${safeText(c.text)}`);
    case "image":
      return dim(color, `[image ${safeLine(c.url.length > 200 ? `${c.url.slice(0, 200)}…` : c.url)}]`);
  }
}
