/** Reading text out of opened files: binary sniffing and line streaming. */

import type { FileHandle } from "node:fs/promises";

const SNIFF_BYTES = 8000;
const CHUNK_BYTES = 64 * 1024;

/** Pure: a NUL byte in the first 8000 bytes means binary (git's heuristic). */
export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, SNIFF_BYTES).includes(0);
}

/** Reads the first bytes of `fh` (without moving any position) and applies `looksBinary`. */
export async function isBinaryFile(fh: FileHandle): Promise<boolean> {
  const buf = new Uint8Array(SNIFF_BYTES);
  const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
  return looksBinary(buf.subarray(0, bytesRead));
}

/**
 * The lines of `fh` from its start, without their `\n` / `\r\n`, read in chunks so a huge file is
 * never loaded whole. A final line without a newline is yielded; an empty file yields nothing.
 * Lines longer than `maxLineChars` are clipped as `clipLine` does, keeping only that many characters
 * in memory: a file that is one huge line costs O(size) time and O(maxLineChars) memory.
 */
export async function* readLines(
  fh: FileHandle,
  maxLineChars = Number.POSITIVE_INFINITY,
): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8");
  const buf = new Uint8Array(CHUNK_BYTES);
  let position = 0;
  let kept = "";
  let cut = 0;
  let endsWithCr = false;
  const add = (part: string) => {
    if (part.length === 0) return;
    const room = Math.max(0, maxLineChars - kept.length);
    if (part.length <= room) kept += part;
    else {
      kept += part.slice(0, room);
      cut += part.length - room;
    }
    endsWithCr = part.endsWith("\r");
  };
  const finish = (): string => {
    // The "\r" of a "\r\n" is dropped: it is the last character, so it was cut if anything was.
    if (endsWithCr) {
      if (cut > 0) cut--;
      else kept = kept.slice(0, -1);
    }
    const line = cut > 0 ? clipMarker(kept, cut) : kept;
    kept = "";
    cut = 0;
    endsWithCr = false;
    return line;
  };
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    // Only the new text is scanned for newlines, so a long line costs linear time.
    const text = decoder.decode(buf.subarray(0, bytesRead), { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      add(text.slice(start, nl));
      yield finish();
      start = nl + 1;
    }
    add(text.slice(start));
  }
  add(decoder.decode());
  if (kept.length > 0 || cut > 0) yield finish();
}

/** Pure: `kept` followed by the marker saying `cut` more characters were dropped. */
function clipMarker(kept: string, cut: number): string {
  return `${kept}… [+${cut} chars]`;
}

/** Pure: `line` cut to `max` characters with a marker saying how much was cut. */
export function clipLine(line: string, max: number): string {
  return line.length <= max ? line : clipMarker(line.slice(0, max), line.length - max);
}

/** Pure: a byte count for messages ("1.5 MB"). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
