import { styleText } from "node:util";

/**
 * The one colour decision of the CLI and the daemon's terminal log. FORCE_COLOR (any value but "0")
 * forces colours on; otherwise NO_COLOR (https://no-color.org, any non-empty value) or TERM=dumb turns
 * them off; otherwise only a terminal gets colours.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  if (force === "0" || force === "false") return false;
  if (env.NO_COLOR) return false;
  if (env.TERM === "dumb") return false;
  return Boolean(stream.isTTY);
}

export type Style = Parameters<typeof styleText>[0];

/** A painter bound to one decision: `paint("red", s)` is `s` itself when colours are off. */
export type Painter = (style: Style, text: string) => string;

export function painter(on: boolean): Painter {
  return on ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}
