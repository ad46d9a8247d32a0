import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import { editFileTool, lineOf, occurrences } from "./edit-file";
import { tempDir, toolContext } from "./test-support";
import { writeFileTool } from "./write-file";

const write = writeFileTool();
const edit = editFileTool();

describe("write_file", () => {
  test("creates parent folders; replaces only with overwrite: true", async () => {
    await using t = await tempDir();
    const ctx = toolContext(t.path);
    const created = await write.execute({ path: "a/b/c.txt", content: "hello", overwrite: false }, ctx);
    expect(created).toEqual({ content: "Created a/b/c.txt (5 B)", isError: false });
    const refused = await write.execute({ path: "a/b/c.txt", content: "x", overwrite: false }, ctx);
    expect(refused.code).toBe("TOOL_FILE_EXISTS");
    expect(refused.content).toContain("overwrite: true");
    const over = await write.execute({ path: "a/b/c.txt", content: "hi", overwrite: true }, ctx);
    expect(over).toEqual({ content: "Overwrote a/b/c.txt (2 B)", isError: false });
    expect(await fs.readFile(t.join("a/b/c.txt"), "utf8")).toBe("hi");
    const fresh = await write.execute({ path: "new.txt", content: "", overwrite: true }, ctx);
    expect(fresh.content).toBe("Created new.txt (0 B)");
  });

  test("overwrite is required; writes outside the cwd create nothing", async () => {
    await using t = await tempDir();
    await using outside = await tempDir();
    await fs.symlink(outside.path, t.join("out"));
    expect(write.validate({ path: "a", content: "x" })).toEqual({
      ok: false,
      message: "write_file: /overwrite is required",
    });
    for (const path of ["../x.txt", outside.join("x.txt"), "out/x.txt"]) {
      const r = await write.execute({ path, content: "x", overwrite: true }, toolContext(t.path));
      expect(r.code).toBe("TOOL_PATH_OUTSIDE_CWD");
    }
    expect(await fs.readdir(outside.path)).toEqual([]);
    expect(write.permission({ path: "x", content: "", overwrite: false }, "/p")).toEqual({
      kind: "write",
      paths: ["/p/x"],
    });
  });
});

describe("edit_file", () => {
  test("replaces exactly one occurrence, keeping the rest and the file mode", async () => {
    await using t = await tempDir();
    const file = await t.write("a.ts", "const a = 1;\nconst b = 2;\n");
    await fs.chmod(file, 0o755);
    const r = await edit.execute(
      { path: "a.ts", oldString: "b = 2", newString: "b = $& 3" },
      toolContext(t.path),
    );
    expect(r).toEqual({ content: "Edited a.ts: replaced 1 occurrence (first at line 2)", isError: false });
    expect(await fs.readFile(file, "utf8")).toBe("const a = 1;\nconst b = $& 3;\n");
    expect((await fs.stat(file)).mode & 0o777).toBe(0o755);
  });

  test("shrinking content truncates the file", async () => {
    await using t = await tempDir();
    const file = await t.write("a.txt", "a long line of text\nend\n");
    await edit.execute(
      { path: "a.txt", oldString: "a long line of text", newString: "x" },
      toolContext(t.path),
    );
    expect(await fs.readFile(file, "utf8")).toBe("x\nend\n");
  });

  test("missing, ambiguous and unchanged strings are coded errors that leave the file alone", async () => {
    await using t = await tempDir();
    const file = await t.write("a.txt", "x = 1\nx = 1\ny = 2\n");
    const ctx = toolContext(t.path);
    const missing = await edit.execute({ path: "a.txt", oldString: "z = 3", newString: "z = 4" }, ctx);
    expect(missing.code).toBe("TOOL_EDIT_NO_MATCH");
    const ambiguous = await edit.execute({ path: "a.txt", oldString: "x = 1", newString: "x = 5" }, ctx);
    expect(ambiguous.code).toBe("TOOL_EDIT_AMBIGUOUS");
    expect(ambiguous.content).toContain("occurs 2 times in a.txt (lines 1, 2)");
    const same = await edit.execute({ path: "a.txt", oldString: "y = 2", newString: "y = 2" }, ctx);
    expect(same.code).toBe("TOOL_EDIT_NO_CHANGE");
    expect(await fs.readFile(file, "utf8")).toBe("x = 1\nx = 1\ny = 2\n");
    const all = await edit.execute(
      { path: "a.txt", oldString: "x = 1", newString: "x = 5", replaceAll: true },
      ctx,
    );
    expect(all.content).toBe("Edited a.txt: replaced 2 occurrences (first at line 1)");
    expect(await fs.readFile(file, "utf8")).toBe("x = 5\nx = 5\ny = 2\n");
  });

  test("binary, huge, missing and outside files are refused", async () => {
    await using t = await tempDir();
    await using outside = await tempDir();
    await t.write("bin", new Uint8Array([1, 0, 2]));
    await t.write("big.txt", "a".repeat(2048));
    await outside.write("o.txt", "secret");
    await fs.symlink(outside.join("o.txt"), t.join("o.txt"));
    const ctx = toolContext(t.path);
    expect((await edit.execute({ path: "bin", oldString: "a", newString: "b" }, ctx)).code).toBe(
      "TOOL_BINARY_FILE",
    );
    const small = editFileTool({ maxFileBytes: 1024 });
    expect((await small.execute({ path: "big.txt", oldString: "a", newString: "b" }, ctx)).code).toBe(
      "TOOL_FILE_TOO_LARGE",
    );
    expect((await edit.execute({ path: "nope", oldString: "a", newString: "b" }, ctx)).code).toBe(
      "TOOL_PATH_NOT_FOUND",
    );
    expect((await edit.execute({ path: "o.txt", oldString: "secret", newString: "x" }, ctx)).code).toBe(
      "TOOL_PATH_OUTSIDE_CWD",
    );
    expect(await fs.readFile(outside.join("o.txt"), "utf8")).toBe("secret");
    expect(edit.validate({ path: "a", oldString: "", newString: "b" })).toEqual({
      ok: false,
      message: "edit_file: /oldString must be at least 1 character(s) long",
    });
  });

  test("a file that is not UTF-8 is refused untouched; a byte-order mark survives an edit", async () => {
    await using t = await tempDir();
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x78, 0x3d, 0x31, 0x0a]); // "café\nx=1\n" in Latin-1
    const file = await t.write("latin1.txt", latin1);
    const ctx = toolContext(t.path);
    const r = await edit.execute({ path: "latin1.txt", oldString: "x=1", newString: "x=2" }, ctx);
    expect(r.code).toBe("TOOL_BINARY_FILE");
    expect(r.content).toContain("not valid UTF-8");
    expect(new Uint8Array(await fs.readFile(file))).toEqual(latin1);
    const bom = await t.write("bom.txt", "\uFEFFx=1\n");
    await edit.execute({ path: "bom.txt", oldString: "x=1", newString: "x=2" }, ctx);
    expect(await fs.readFile(bom, "utf8")).toBe("\uFEFFx=2\n");
  });

  test("occurrences and lineOf", () => {
    expect(occurrences("aaaa", "aa")).toEqual([0, 2]);
    expect(lineOf("a\nb\nc", 4)).toBe(3);
    expect(lineOf("abc", 0)).toBe(1);
  });
});
