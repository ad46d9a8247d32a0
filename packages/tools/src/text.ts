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
 */
export async function* readLines(fh: FileHandle): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8");
  const buf = new Uint8Array(CHUNK_BYTES);
  let position = 0;
  let carry = "";
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    carry += decoder.decode(buf.subarray(0, bytesRead), { stream: true });
    let start = 0;
    for (let nl = carry.indexOf("\n", start); nl !== -1; nl = carry.indexOf("\n", start)) {
      yield stripCr(carry.slice(start, nl));
      start = nl + 1;
    }
    carry = carry.slice(start);
  }
  carry += decoder.decode();
  if (carry.length > 0) yield stripCr(carry);
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Pure: `line` cut to `max` characters with a marker saying how much was cut. */
export function clipLine(line: string, max: number): string {
  return line.length <= max ? line : `${line.slice(0, max)}… [+${line.length - max} chars]`;
}

/** Pure: a byte count for messages ("1.5 MB"). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
