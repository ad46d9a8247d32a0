import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { replaceFile } from "./atomic-write";
import { type FsRoot, type FsRootOptions, type FsStrategy, openRoot } from "./fs-root";
import { tempDir } from "./test-support";

async function rootOf(cwd: string, opts: FsRootOptions = {}): Promise<FsRoot> {
  const r = await openRoot(cwd, opts);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const bytes = (s: string) => new TextEncoder().encode(s);

async function readAll(fh: fs.FileHandle): Promise<string> {
  try {
    return (await fh.readFile()).toString("utf8");
  } finally {
    await fh.close();
  }
}

describe("openRoot", () => {
  test("the cwd must be an existing, absolute directory", async () => {
    await using t = await tempDir();
    const file = await t.write("f.txt", "x");
    for (const cwd of [t.join("missing"), file, "relative/dir"]) {
      const r = await openRoot(cwd);
      expect(r.ok ? "ok" : r.error.code).toBe("TOOL_CWD_INVALID");
    }
  });

  test("a cwd reached through a symlink is contained by its real path", async () => {
    await using t = await tempDir();
    await t.write("real/a.txt", "A");
    await fs.symlink(t.join("real"), t.join("alias"));
    const root = await rootOf(t.join("alias"));
    expect(root.dir).toBe(t.join("real"));
    const r = await root.openFile("a.txt");
    expect(r.ok && (await readAll(r.value.fh))).toBe("A");
    const abs = await root.resolve(t.join("alias", "a.txt"));
    expect(abs.ok && abs.value.real).toBe(t.join("real", "a.txt"));
  });
});

for (const strategy of ["proc", "portable"] as FsStrategy[]) {
  describe(`containment (${strategy})`, () => {
    test("`..`, absolute paths and symlinks pointing out are refused", async () => {
      await using t = await tempDir();
      await using outside = await tempDir();
      const secret = await outside.write("secret.txt", "SECRET");
      await t.write("proj/in.txt", "in");
      await fs.symlink(secret, t.join("proj", "link-file"));
      await fs.symlink(outside.path, t.join("proj", "link-dir"));
      const root = await rootOf(t.join("proj"), { strategy });
      for (const p of [
        "../proj/../x.txt",
        "..",
        secret,
        "link-file",
        "link-dir/secret.txt",
        "link-dir/new.txt",
      ]) {
        const read = await root.openFile(p);
        expect(read.ok ? `read ${p}` : read.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
        const write = await replaceFile(root, p, bytes("x"), { overwrite: true });
        expect(write.ok ? `write ${p}` : write.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
      }
      expect(await fs.readFile(secret, "utf8")).toBe("SECRET");
      expect(await fs.readdir(outside.path)).toEqual(["secret.txt"]);
    });

    test("symlinks that stay inside and absolute paths inside are followed", async () => {
      await using t = await tempDir();
      await t.write("a/b.txt", "B");
      await fs.symlink(t.join("a"), t.join("alias"));
      const root = await rootOf(t.path, { strategy });
      for (const p of ["alias/b.txt", t.join("a", "b.txt"), "a/../a/b.txt"]) {
        const r = await root.openFile(p);
        expect(r.ok ? r.value.rel : r.error.code).toBe(path.join("a", "b.txt"));
        if (r.ok) expect(await readAll(r.value.fh)).toBe("B");
      }
    });

    test("an intermediate folder swapped for a symlink after the check is not followed", async () => {
      await using t = await tempDir();
      await using outside = await tempDir();
      await outside.write("sub/a.txt", "SECRET");
      await t.write("sub/a.txt", "inside");
      const swap = async () => {
        await fs.rename(t.join("sub"), t.join("sub-old"));
        await fs.symlink(outside.join("sub"), t.join("sub"));
      };
      const root = await rootOf(t.path, { strategy, afterCheck: swap });
      const r = await root.openFile("sub/a.txt");
      expect(r.ok ? await readAll(r.value.fh) : r.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
    });

    test("a file swapped for a symlink after the check is not followed", async () => {
      await using t = await tempDir();
      await using outside = await tempDir();
      const secret = await outside.write("secret.txt", "SECRET");
      await t.write("a.txt", "inside");
      const swap = async () => {
        await fs.rm(t.join("a.txt"));
        await fs.symlink(secret, t.join("a.txt"));
      };
      const root = await rootOf(t.path, { strategy, afterCheck: swap });
      const r = await root.openFile("a.txt");
      expect(r.ok ? await readAll(r.value.fh) : r.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
      const w = await replaceFile(root, "a.txt", bytes("x"), { overwrite: true });
      expect(w.ok ? "written" : w.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
      expect(await fs.readFile(secret, "utf8")).toBe("SECRET");
    });

    test("a parent folder swapped after the check creates nothing outside", async () => {
      await using t = await tempDir();
      await using outside = await tempDir();
      await fs.mkdir(t.join("dir"));
      const swap = async () => {
        await fs.rename(t.join("dir"), t.join("dir-old"));
        await fs.symlink(outside.path, t.join("dir"));
      };
      const root = await rootOf(t.path, { strategy, afterCheck: swap });
      const w = await replaceFile(root, "dir/new.txt", bytes("x"), { overwrite: false });
      expect(w.ok ? "written" : w.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
      expect(await fs.readdir(outside.path)).toEqual([]);
    });

    test("replaceFile creates parents, refuses to replace without overwrite, replaces with it", async () => {
      await using t = await tempDir();
      const root = await rootOf(t.path, { strategy });
      const first = await replaceFile(root, "deep/er/new.txt", bytes("long content"), { overwrite: false });
      expect(first.ok && first.value).toEqual({ rel: "deep/er/new.txt", created: true });
      const again = await replaceFile(root, "deep/er/new.txt", bytes("x"), { overwrite: false });
      expect(again.ok ? "written" : again.error.code).toBe("TOOL_FILE_EXISTS");
      const over = await replaceFile(root, "deep/er/new.txt", bytes("short"), { overwrite: true });
      expect(over.ok && over.value.created).toBe(false);
      expect(await fs.readFile(t.join("deep/er/new.txt"), "utf8")).toBe("short");
      expect(await fs.readdir(t.join("deep/er"))).toEqual(["new.txt"]);
      const dir = await replaceFile(root, "deep", bytes("x"), { overwrite: true });
      expect(dir.ok ? "written" : dir.error.code).toBe("TOOL_PATH_WRONG_TYPE");
    });

    test("openDir of a folder swapped for an outside symlink is refused", async () => {
      await using t = await tempDir();
      await using outside = await tempDir();
      await t.write("d/x.txt", "x");
      const swap = async () => {
        await fs.rename(t.join("d"), t.join("d-old"));
        await fs.symlink(outside.path, t.join("d"));
      };
      const root = await rootOf(t.path, { strategy, afterCheck: swap });
      const r = await root.openDir("d");
      if (r.ok) await r.value.close();
      expect(r.ok ? "opened" : r.error.code).toBe("TOOL_PATH_OUTSIDE_CWD");
    });
  });
}

describe("special files", () => {
  test("a FIFO is refused without blocking; missing paths and folders are coded", async () => {
    await using t = await tempDir();
    Bun.spawnSync(["mkfifo", t.join("pipe")]);
    await fs.mkdir(t.join("folder"));
    const root = await rootOf(t.path);
    const fifo = await root.openFile("pipe");
    expect(fifo.ok ? "opened" : fifo.error.code).toBe("TOOL_PATH_WRONG_TYPE");
    const missing = await root.openFile("nope.txt");
    expect(missing.ok ? "opened" : missing.error.code).toBe("TOOL_PATH_NOT_FOUND");
    const folder = await root.openFile("folder");
    expect(folder.ok ? "opened" : folder.error.code).toBe("TOOL_PATH_WRONG_TYPE");
    const listed = await root.openDir("folder");
    expect(listed.ok && (await fs.readdir(listed.value.path))).toEqual([]);
    if (listed.ok) await listed.value.close();
  });
});
