/**
 * Pure conversion of an MCP `tools/call` result into the ToolResult the model reads: text blocks are
 * joined; images and audio become a one-line note with their type and size, and images (up to
 * MAX_IMAGES of at most MAX_IMAGE_BYTES each) are also returned as `images`, which models with vision
 * see; embedded resources give their text; links their URI.
 * `isError: true` becomes an error result (TOOL_REMOTE_ERROR) the model can read, never a failed turn.
 */

import type { ToolImage, ToolResult } from "@dispatch/tools/contract";

export const MAX_IMAGES = 4;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

interface Block {
  type: string;
  text?: unknown;
  data?: unknown;
  mimeType?: unknown;
  uri?: unknown;
  name?: unknown;
  resource?: { uri?: unknown; text?: unknown; blob?: unknown; mimeType?: unknown };
}

/** Pure: decoded size of base64 text, for notes ("image/png, 1.2 KB"). */
function base64Bytes(data: unknown): number {
  if (typeof data !== "string") return 0;
  const pad = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - pad);
}

function size(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`;
}

/** Pure: the text of one content block. */
export function blockText(block: Block): string {
  switch (block.type) {
    case "text":
      return typeof block.text === "string" ? block.text : "";
    case "image":
    case "audio":
      return `[${block.type}: ${String(block.mimeType ?? "unknown type")}, ${size(base64Bytes(block.data))}]`;
    case "resource": {
      const r = block.resource ?? {};
      if (typeof r.text === "string") return r.text;
      return `[resource ${String(r.uri ?? "")}: ${String(r.mimeType ?? "binary")}, ${size(base64Bytes(r.blob))}]`;
    }
    case "resource_link":
      return `[resource link: ${String(block.uri ?? "")}${typeof block.name === "string" ? ` (${block.name})` : ""}]`;
    default:
      return `[unsupported content type "${block.type}"]`;
  }
}

/** Pure: a parsed `tools/call` result as a ToolResult. */
export function toToolResult(
  result: { content?: unknown; structuredContent?: unknown; isError?: unknown },
  toolName: string,
): ToolResult {
  const blocks = Array.isArray(result.content) ? (result.content as Block[]) : [];
  let text = blocks.map(blockText).join("\n");
  if (blocks.length === 0 && result.structuredContent !== undefined) {
    text = JSON.stringify(result.structuredContent);
  }
  const images: ToolImage[] = blocks
    .filter(
      (b) =>
        b.type === "image" &&
        typeof b.data === "string" &&
        typeof b.mimeType === "string" &&
        b.mimeType.startsWith("image/") &&
        base64Bytes(b.data) <= MAX_IMAGE_BYTES,
    )
    .slice(0, MAX_IMAGES)
    .map((b) => ({ data: b.data as string, mimeType: b.mimeType as string }));
  if (result.isError === true) {
    return {
      content: `${toolName} failed: ${text || "(no message)"}`,
      isError: true,
      code: "TOOL_REMOTE_ERROR",
    };
  }
  return images.length > 0 ? { content: text, isError: false, images } : { content: text, isError: false };
}
