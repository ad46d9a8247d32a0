/**
 * write_file and edit_file replace files atomically: real files, a real full tmpfs (when the test runs
 * as root and may mount), and a real child process killed with SIGKILL in the middle of replacements.
 */

import { describe, expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { TEMP_PREFIX } from "./atomic-write";
import { editFileTool } from "./edit-file";
import { tempDir, toolContext } from "./test-support";
import { writeFileTool } from "./write-file";

const write = writeFileTool();
const edit = editFileTool();

/** Mounts a `size` tmpfs on a fresh folder, or says why it cannot (not root, no mount permission). */
function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root";
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stderr: "pipe" });
  return r.exitCode === 0 ? undefined : `mount -t tmpfs failed: ${r.stderr.toString().trim()}`;
}

/** Fills the filesystem of `dir` until a write fails with ENOSPC. */
async function fill(dir: string): Promise<void> {
  const fh = await fs.open(path.join(dir, "filler"), "w");
  const chunk = new Uint8Array(64 * 1024).fill(120);
  try {
    for (;;) await fh.write(chunk);
  } catch (e) {
    expect((e as { code?: string }).code).toBe("ENOSPC");
  } finally {
    await fh.close();
  }
}

describe("atomic replacement", () => {
  test("an overwrite keeps the file's mode and owner and leaves no temp file", async () => {
    await using t = await tempDir();
    const file = await t.write("run.sh", "echo old\n");
    await fs.chmod(file, 0o751);
    const root = process.getuid?.() === 0;
    if (root) await fs.chown(file, 65534, 65534);
    const r = await write.execute(
      { path: "run.sh", content: "echo new\n", overwrite: true },
      toolContext(t.path),
    );
    expect(r).toEqual({ content: "Overwrote run.sh (9 B)", isError: false });
    const st = await fs.stat(file);
    expect(st.mode & 0o7777).toBe(0o751);
    if (root) expect([st.uid, st.gid]).toEqual([65534, 65534]);
    await edit.execute({ path: "run.sh", oldString: "new", newString: "newer" }, toolContext(t.path));
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o751);
    expect(await fs.readdir(t.path)).toEqual(["run.sh"]);
  });

  test("a write through a symlink inside the cwd replaces its target and keeps the link", async () => {
    await using t = await tempDir();
    await t.write("real.txt", "old");
    await fs.symlink("real.txt", t.join("alias.txt"));
    const r = await write.execute(
      { path: "alias.txt", content: "new", overwrite: true },
      toolContext(t.path),
    );
    expect(r.content).toBe("Overwrote real.txt (3 B)");
    expect((await fs.lstat(t.join("alias.txt"))).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(t.join("real.txt"), "utf8")).toBe("new");
  });

  test("on a full disk the old file is intact and the temp file is removed", async () => {
    await using t = await tempDir();
    const mnt = t.join("mnt");
    await fs.mkdir(mnt);
    const why = mountTmpfs(mnt, "1m");
    if (why !== undefined) {
      console.warn(`skipped the full-tmpfs part: ${why}`);
      return;
    }
    try {
      const old = `${"old line\n".repeat(20_000)}end\n`; // 180 kB
      await fs.writeFile(path.join(mnt, "a.txt"), old);
      await fill(mnt);
      const ctx = toolContext(mnt);
      const big = "new\n".repeat(100_000); // 400 kB: cannot fit
      const w = await write.execute({ path: "a.txt", content: big, overwrite: true }, ctx);
      expect(w.code).toBe("TOOL_IO_ERROR");
      expect(w.content).toContain("the old content is intact");
      expect(await fs.readFile(path.join(mnt, "a.txt"), "utf8")).toBe(old);
      const e = await edit.execute({ path: "a.txt", oldString: "end\n", newString: big }, ctx);
      expect(e.code).toBe("TOOL_IO_ERROR");
      expect(await fs.readFile(path.join(mnt, "a.txt"), "utf8")).toBe(old);
      const created = await write.execute({ path: "new.txt", content: big, overwrite: false }, ctx);
      expect(created.content).toContain("no file was created");
      expect((await fs.readdir(mnt)).sort()).toEqual(["a.txt", "filler"]);
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  });

  for (const mode of ["write", "edit"] as const) {
    test(`a SIGKILL during ${mode} replacements leaves the whole old or the whole new file`, async () => {
      await using t = await tempDir();
      const size = 4 * 1024 * 1024;
      const padding = "p".repeat(size);
      await t.write("big.txt", mode === "write" ? `count 0\n${"A".repeat(size)}` : `count 0\n${padding}`);
      const child = path.join(import.meta.dir, "fixtures", "atomic-write-child.ts");
      const seen = new Set<string>();
      for (let round = 0; round < 5; round++) {
        const proc = Bun.spawn(["bun", child, t.path, mode, String(size)], {
          stdout: "pipe",
          stderr: "inherit",
        });
        const reader = proc.stdout.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
        await Bun.sleep(20 + Math.floor(Math.random() * 200));
        proc.kill("SIGKILL");
        await proc.exited;
        const text = await fs.readFile(t.join("big.txt"), "utf8");
        // The counter line goes up with every replacement, so each round's result is distinct.
        const first = text.slice(0, text.indexOf("\n") + 1);
        expect(first).toMatch(/^count \d+\n$/);
        const count = Number(/\d+/.exec(first)?.[0]);
        const body = mode === "write" ? String.fromCharCode(65 + (count % 26)).repeat(size) : padding;
        expect(text.slice(first.length)).toBe(body);
        seen.add(first);
        // A killed writer may leave its private temp file behind; nothing else appears.
        const others = (await fs.readdir(t.path)).filter((n) => n !== "big.txt");
        expect(others.every((n) => n.startsWith(TEMP_PREFIX) && n.endsWith(".tmp"))).toBe(true);
        for (const n of others) await fs.rm(t.join(n));
      }
      // Every round replaced the file at least once before its kill (not a vacuous pass).
      expect(seen.size).toBe(5);
    });
  }
});
