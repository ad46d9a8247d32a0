/** Pure: tool arguments as JSON; empty means `{}`; invalid JSON keeps the raw string and says why. */
export function parseToolInput(raw: string): { input: unknown; inputError?: string } {
  if (raw.trim() === "") return { input: {} };
  try {
    return { input: JSON.parse(raw) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { input: raw, inputError: `tool call arguments are not valid JSON: ${why}` };
  }
}
