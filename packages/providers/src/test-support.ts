import type { ModelRequest } from "./contract";

/** A one-message request ("hello") with no tools and a fresh signal; tests override what they need. */
export function modelRequest(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    messages: [{ role: "user", chunks: [{ type: "text", text: "hello" }] }],
    tools: [],
    signal: new AbortController().signal,
    ...overrides,
  };
}
