import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import { numberedLine, readFileTool } from "./read-file";
import { tempDir, toolContext } from "./test-support";

const read = readFileTool();

describe("read_file", () => {
  test("numbers lines cat -n style, with offset and limit", async () => {
    await using t = await tempDir();
    await t.write("a.txt", "one\ntwo\r\nthree\nfour");
    const all = await read.execute({ path: "a.txt" }, toolContext(t.path));
    expect(all).toEqual({
      content: ["     1\tone", "     2\ttwo", "     3\tthree", "     4\tfour"].join("\n"),
      isError: false,
    });
    const page = await read.execute({ path: "a.txt", offset: 2, limit: 2 }, toolContext(t.path));
    expect(page.content).toBe(
      ["     2\ttwo", "     3\tthree", "[showing lines 2-3; the file continues: use offset=4]"].join("\n"),
    );
    expect(numberedLine(12, "x")).toBe("    12\tx");
  });

  test("empty files, offsets past the end and missing files", async () => {
    await using t = await tempDir();
    await t.write("empty.txt", "");
    await t.write("short.txt", "a\nb\n");
    expect((await read.execute({ path: "empty.txt" }, toolContext(t.path))).content).toBe(
      "(empty.txt is empty)",
    );
    const past = await read.execute({ path: "short.txt", offset: 5 }, toolContext(t.path));
    expect(past.code).toBe("TOOL_INVALID_ARGS");
    expect(past.content).toContain("2 lines");
    expect((await read.execute({ path: "nope.txt" }, toolContext(t.path))).code).toBe("TOOL_PATH_NOT_FOUND");
    expect((await read.execute({ path: "." }, toolContext(t.path))).code).toBe("TOOL_PATH_WRONG_TYPE");
  });

  test("binary files are refused with a clear message", async () => {
    await using t = await tempDir();
    await t.write("img.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    const r = await read.execute({ path: "img.png" }, toolContext(t.path));
    expect(r.code).toBe("TOOL_BINARY_FILE");
    expect(r.content).toContain("img.png looks like a binary file");
  });

  test("a huge file is read in capped pages without loading it whole", async () => {
    await using t = await tempDir();
    const line = `${"x".repeat(99)}\n`;
    const fh = await fs.open(t.join("huge.log"), "w");
    const block = line.repeat(10_000);
    for (let i = 0; i < 30; i++) await fh.write(block); // 300 000 lines, 30 MB
    await fh.close();
    const capped = readFileTool({ maxOutputBytes: 10_000 });
    const first = await capped.execute({ path: "huge.log" }, toolContext(t.path));
    expect(first.isError).toBe(false);
    expect(Buffer.byteLength(first.content)).toBeLessThan(11_000);
    expect(first.content).toMatch(/\[output capped at 9\.8 KB; continue with offset=\d+\]$/);
    const tail = await capped.execute({ path: "huge.log", offset: 299_999 }, toolContext(t.path));
    expect(tail.content).toBe(`299999\t${"x".repeat(99)}\n300000\t${"x".repeat(99)}`);
    const tooBig = await readFileTool({ maxFileBytes: 1024 * 1024 }).execute(
      { path: "huge.log" },
      toolContext(t.path),
    );
    expect(tooBig.code).toBe("TOOL_FILE_TOO_LARGE");
    expect(tooBig.content).toContain("28.6 MB");
  });

  test("long lines are clipped", async () => {
    await using t = await tempDir();
    await t.write("wide.txt", "y".repeat(50));
    const r = await readFileTool({ maxLineChars: 10 }).execute({ path: "wide.txt" }, toolContext(t.path));
    expect(r.content).toBe(`     1\t${"y".repeat(10)}… [+40 chars]`);
  });

  test("paths outside the cwd are refused; invalid arguments name the field", async () => {
    await using t = await tempDir();
    await using outside = await tempDir();
    const secret = await outside.write("s.txt", "SECRET");
    await fs.symlink(secret, t.join("link"));
    for (const path of ["../s.txt", secret, "link"]) {
      const r = await read.execute({ path }, toolContext(t.path));
      expect(r.code).toBe("TOOL_PATH_OUTSIDE_CWD");
      expect(r.content).not.toContain("SECRET");
    }
    expect(read.validate({ path: 3 })).toEqual({ ok: false, message: "read_file: /path must be string" });
    expect(read.validate({ path: "a", offset: 0 })).toEqual({
      ok: false,
      message: "read_file: /offset must be >= 1",
    });
    expect(read.permission({ path: "src/a.ts" }, "/proj")).toEqual({
      kind: "read",
      paths: ["/proj/src/a.ts"],
    });
  });
});
