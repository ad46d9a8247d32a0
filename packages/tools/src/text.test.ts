import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import { tempDir } from "./test-support";
import { clipLine, readLines } from "./text";

async function linesOf(content: string | Uint8Array, maxLineChars?: number): Promise<string[]> {
  await using t = await tempDir();
  const fh = await fs.open(await t.write("f.txt", content), "r");
  try {
    const out: string[] = [];
    for await (const line of readLines(fh, maxLineChars)) out.push(line);
    return out;
  } finally {
    await fh.close();
  }
}

describe("readLines", () => {
  test("splits on \\n and \\r\\n, keeps empty lines, yields a last line without newline", async () => {
    expect(await linesOf("a\r\n\nb\nc")).toEqual(["a", "", "b", "c"]);
    expect(await linesOf("a\n")).toEqual(["a"]);
    expect(await linesOf("")).toEqual([]);
  });

  test("a \\r\\n split across read chunks and multi-byte characters across chunks survive", async () => {
    const chunk = 64 * 1024;
    const crlf = `${"x".repeat(chunk - 1)}\r\nnext`;
    expect(await linesOf(crlf)).toEqual(["x".repeat(chunk - 1), "next"]);
    const euro = `${"y".repeat(chunk - 1)}€\nz`; // "€" is 3 bytes straddling the chunk edge
    expect(await linesOf(euro)).toEqual([`${"y".repeat(chunk - 1)}€`, "z"]);
  });

  test("a huge line without newlines is clipped while it is read, with the exact count cut", async () => {
    const size = 3 * 1024 * 1024 + 7;
    const lines = await linesOf(`${"h".repeat(size)}\r\nshort\n${"w".repeat(25)}`, 10);
    expect(lines).toEqual([
      `${"h".repeat(10)}… [+${size - 10} chars]`,
      "short",
      clipLine("w".repeat(25), 10),
    ]);
    expect(lines[2]).toBe(`${"w".repeat(10)}… [+15 chars]`);
  });
});
