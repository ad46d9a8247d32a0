import type { AgentEvent, StoredChunk } from "@dispatch/protocol/types";

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

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
export const dim = (on: boolean, s: string) => paint(on, "2", s);
const red = (on: boolean, s: string) => paint(on, "31", s);
const cyan = (on: boolean, s: string) => paint(on, "36", s);
const yellow = (on: boolean, s: string) => paint(on, "33", s);

function brief(value: unknown, max = 160): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
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
      return { stdout: prefix + event.delta };
    }
    case "reasoning-delta":
      if (!opts.showReasoning) return {};
      state.mode = "reasoning";
      return { stderr: dim(color, event.delta) };
    case "tool-call":
      state.mode = "other";
      return {
        stderr: `${breakLine}${cyan(color, `▸ ${event.toolName}`)} ${dim(color, brief(event.input))}\n`,
      };
    case "tool-output":
      state.mode = "other";
      return { stderr: dim(color, event.data) };
    case "tool-result":
      state.mode = "other";
      return {
        stderr: event.isError
          ? `${red(color, `✗ ${event.toolName}: ${brief(event.content)}`)}\n`
          : `${dim(color, `✓ ${event.toolName} (${brief(event.content, 80)})`)}\n`,
      };
    case "permission-request":
      state.mode = "other";
      return {
        stderr: `${breakLine}${yellow(color, `? ${event.toolName} needs permission: ${event.reason}`)}\n`,
      };
    case "permission-resolved":
      return { stderr: `${dim(color, `  permission ${event.decision}`)}\n` };
    case "provider-retry":
      return {
        stderr: `${breakLine}${yellow(color, `↻ retry ${event.attempt} in ${event.delayMs} ms: ${event.message}`)}\n`,
      };
    case "steering":
      state.mode = "other";
      return { stderr: `${breakLine}${dim(color, `» ${event.text}`)}\n` };
    case "error":
      state.mode = "other";
      return {
        stderr: `${breakLine}${red(color, `error: ${event.message}${event.code ? ` (${event.code})` : ""}`)}\n`,
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
      return `${who}: ${c.text}`;
    case "thinking":
      return dim(color, `${chunk.role} (thinking): ${c.text}`);
    case "tool-call":
      return cyan(color, `▸ ${c.toolName} ${brief(c.input)}`);
    case "tool-result":
      return c.isError
        ? red(color, `✗ ${c.toolName}: ${brief(c.content)}`)
        : dim(color, `✓ ${c.toolName}: ${brief(c.content)}`);
    case "error":
      return red(color, `error: ${c.message}`);
    case "system":
      return dim(color, `system: ${c.text}`);
    case "image":
      return dim(color, `[image ${c.url}]`);
  }
}
