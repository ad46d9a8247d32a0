/**
 * Terminal safety for everything untrusted the CLI prints (model text, reasoning, tool input and
 * output, reasons, titles, ids, error messages): no control or escape sequence reaches the terminal
 * to be interpreted. Each such character is shown visibly as an escape (`\x1b`, `\r`, `\u202e`), so an
 * ESC-padded command cannot hide its tail, move the cursor, or write the clipboard (OSC 52).
 *
 * Kept as is: printable text, and in multi-line text `\n` and `\t`.
 */

/** Everything outside printable ASCII; `unsafe` then picks the controls among them. */
const NOT_PRINTABLE_ASCII = /[^ -~]/g;
const BIDI = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);

/** C0 controls, DEL, C1 controls, and the Unicode bidi marks that reorder what is shown. */
function unsafe(code: number, multiline: boolean): boolean {
  if (multiline && (code === 0x0a || code === 0x09)) return false;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || BIDI.has(code);
}

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === "\n") return "\\n";
  if (ch === "\r") return "\\r";
  if (ch === "\t") return "\\t";
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Pure: multi-line untrusted text (model answer, tool output) with every control shown visibly. */
export function safeText(text: string): string {
  return text.replace(NOT_PRINTABLE_ASCII, (ch) => (unsafe(ch.charCodeAt(0), true) ? visible(ch) : ch));
}

/** Pure: one-line untrusted text (a title, an id, a tool name, a reason): newlines shown as `\n` too. */
export function safeLine(text: string): string {
  return text.replace(NOT_PRINTABLE_ASCII, (ch) => (unsafe(ch.charCodeAt(0), false) ? visible(ch) : ch));
}

/**
 * Pure: the complete text wrapped to `width` columns, never cut: a permission prompt must show the
 * whole command. Long inputs get a length note so the user knows to read to the end.
 */
export function wrapAll(text: string, width: number, indent = "    "): string {
  const safe = safeLine(text);
  const room = Math.max(20, width - indent.length);
  const lines: string[] = [];
  for (let i = 0; i < safe.length; i += room) lines.push(indent + safe.slice(i, i + room));
  if (lines.length === 0) lines.push(indent);
  const note =
    lines.length > 1 ? `\n${indent}(${safe.length} characters in ${lines.length} lines, shown in full)` : "";
  return lines.join("\n") + note;
}
